//! `sfn-ecs`: the Amazon ECS adapter (RunTask parameters, local, sim and aws backends).
