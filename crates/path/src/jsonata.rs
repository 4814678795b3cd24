//! JSONata expressions (Step Functions `QueryLanguage: JSONata`).
