//! `sfn-patterns`: Task resource ARNs, integration patterns and the `ServiceIntegration` seam.
