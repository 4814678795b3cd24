//! AWS's optimized service integrations and the patterns each action supports (AWS Step Functions
//! Developer Guide, "Integrating optimized services with Step Functions" and the per-service pages).

use crate::resource::Pattern;

const RR: &[Pattern] = &[Pattern::RequestResponse];
const RR_SYNC: &[Pattern] = &[Pattern::RequestResponse, Pattern::Sync];
const RR_WFTT: &[Pattern] = &[Pattern::RequestResponse, Pattern::WaitForTaskToken];
const RR_SYNC_WFTT: &[Pattern] = &[Pattern::RequestResponse, Pattern::Sync, Pattern::WaitForTaskToken];
const ALL: &[Pattern] = &[Pattern::RequestResponse, Pattern::Sync, Pattern::Sync2, Pattern::WaitForTaskToken];

/// `(service, action, patterns)` for every optimized integration.
pub(crate) const OPTIMIZED: &[(&str, &str, &[Pattern])] = &[
    ("lambda", "invoke", RR_WFTT),
    ("ecs", "runTask", RR_SYNC_WFTT),
    ("batch", "submitJob", RR_SYNC),
    ("dynamodb", "getItem", RR),
    ("dynamodb", "putItem", RR),
    ("dynamodb", "updateItem", RR),
    ("dynamodb", "deleteItem", RR),
    ("sns", "publish", RR_WFTT),
    ("sqs", "sendMessage", RR_WFTT),
    ("glue", "startJobRun", RR_SYNC),
    ("states", "startExecution", ALL),
    ("events", "putEvents", RR_WFTT),
    ("apigateway", "invoke", RR_WFTT),
    ("http", "invoke", RR),
    ("athena", "startQueryExecution", RR_SYNC),
    ("athena", "stopQueryExecution", RR),
    ("athena", "getQueryExecution", RR),
    ("athena", "getQueryResults", RR),
    ("codebuild", "startBuild", RR_SYNC),
    ("codebuild", "stopBuild", RR),
    ("codebuild", "batchDeleteBuilds", RR),
    ("codebuild", "batchGetReports", RR),
    ("codebuild", "startBuildBatch", RR_SYNC),
    ("codebuild", "stopBuildBatch", RR),
    ("codebuild", "retryBuildBatch", RR_SYNC),
    ("codebuild", "retryBuild", RR_SYNC),
    ("codebuild", "deleteBuildBatch", RR),
    ("databrew", "startJobRun", RR_SYNC),
    ("elasticmapreduce", "createCluster", RR_SYNC),
    ("elasticmapreduce", "terminateCluster", RR_SYNC),
    ("elasticmapreduce", "addStep", RR_SYNC),
    ("elasticmapreduce", "cancelStep", RR),
    ("elasticmapreduce", "setClusterTerminationProtection", RR),
    ("elasticmapreduce", "modifyInstanceFleetByName", RR),
    ("elasticmapreduce", "modifyInstanceGroupByName", RR),
    ("emr-containers", "createVirtualCluster", RR),
    ("emr-containers", "deleteVirtualCluster", RR_SYNC),
    ("emr-containers", "startJobRun", RR_SYNC),
    ("emr-serverless", "createApplication", RR_SYNC),
    ("emr-serverless", "startApplication", RR_SYNC),
    ("emr-serverless", "stopApplication", RR_SYNC),
    ("emr-serverless", "deleteApplication", RR_SYNC),
    ("emr-serverless", "startJobRun", RR_SYNC),
    ("emr-serverless", "cancelJobRun", RR_SYNC),
    ("eks", "createCluster", RR_SYNC),
    ("eks", "deleteCluster", RR_SYNC),
    ("eks", "createFargateProfile", RR_SYNC),
    ("eks", "deleteFargateProfile", RR_SYNC),
    ("eks", "createNodegroup", RR_SYNC),
    ("eks", "deleteNodegroup", RR_SYNC),
    ("eks", "runJob", RR_SYNC),
    ("eks", "call", RR),
    ("mediaconvert", "createJob", RR_SYNC),
    ("bedrock", "invokeModel", RR),
    ("bedrock", "createModelCustomizationJob", RR_SYNC),
    ("sagemaker", "createEndpoint", RR),
    ("sagemaker", "createEndpointConfig", RR),
    ("sagemaker", "createHyperParameterTuningJob", RR_SYNC),
    ("sagemaker", "createLabelingJob", RR_SYNC),
    ("sagemaker", "createModel", RR),
    ("sagemaker", "createProcessingJob", RR_SYNC),
    ("sagemaker", "createTrainingJob", RR_SYNC),
    ("sagemaker", "createTransformJob", RR_SYNC),
    ("sagemaker", "updateEndpoint", RR),
];

/// What AWS says about a service resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwsVerdict {
    /// Supported as written.
    Supported,
    /// A known service, but this action or pattern is not supported.
    Unsupported,
    /// A service this table does not know.
    UnknownService,
}

/// Checks an optimized (or `aws-sdk:`) integration against AWS's table.
pub(crate) fn verdict(service: &str, sdk: bool, action: &str, pattern: Pattern) -> AwsVerdict {
    if sdk {
        // AWS SDK integrations: any action, request-response or callback (no .sync).
        return if matches!(pattern, Pattern::RequestResponse | Pattern::WaitForTaskToken) {
            AwsVerdict::Supported
        } else {
            AwsVerdict::Unsupported
        };
    }
    if !OPTIMIZED.iter().any(|(s, _, _)| *s == service) {
        return AwsVerdict::UnknownService;
    }
    match OPTIMIZED.iter().find(|(s, a, _)| *s == service && *a == action) {
        Some((_, _, patterns)) if patterns.contains(&pattern) => AwsVerdict::Supported,
        _ => AwsVerdict::Unsupported,
    }
}
