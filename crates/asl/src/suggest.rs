//! Did-you-mean suggestions for misspelt names (unknown fields, state types, choice operators, and the
//! ECS RunTask parameters of `sfn-ecs`): one measure, so every message suggests alike.

/// The candidate closest to `name` (Jaro–Winkler similarity of the lowercased names above 0.8), if any;
/// of equally close candidates, the last.
///
/// ```
/// use sfn_asl::suggest::did_you_mean;
/// assert_eq!(did_you_mean("Nxt", ["Next", "End"]), Some("Next"));
/// assert_eq!(did_you_mean("resultpath", ["ResultPath", "OutputPath"]), Some("ResultPath"));
/// assert_eq!(did_you_mean("Zzz", ["Next", "End"]), None);
/// ```
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&name, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
