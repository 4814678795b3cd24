//! Workflow variables (`Assign`) with the scoping of Parallel branches and Map iterations: inner
//! scopes read outer variables; what they assign stays inside.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use sfn_path::Variables;

/// The variables visible to a state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars {
    parent: Option<Arc<Vars>>,
    local: HashMap<String, Value>,
}

impl Vars {
    /// A scope nested in this one (a branch or iteration), sharing a frozen view of this one.
    pub(crate) fn child_of(parent: &Arc<Vars>) -> Vars {
        Vars { parent: Some(parent.clone()), local: HashMap::new() }
    }

    /// True in a Parallel branch or a Map iteration.
    pub(crate) fn is_nested(&self) -> bool {
        self.parent.is_some()
    }

    pub(crate) fn set(&mut self, name: String, value: Value) {
        self.local.insert(name, value);
    }
}

impl Variables for Vars {
    fn get(&self, name: &str) -> Option<&Value> {
        match self.local.get(name) {
            Some(v) => Some(v),
            None => self.parent.as_deref().and_then(|p| Variables::get(p, name)),
        }
    }
}
