//! Execution engine bits.

use crate::api::Match;
use crate::insn::CompiledRegex;
use crate::position::PositionType;

/// A trait for finding the next match in a regex.
/// This is broken out from Executor to avoid needing to thread lifetimes
/// around.
pub trait MatchProducer: core::fmt::Debug {
    /// The position type of our indexer.
    type Position: PositionType;

    /// \return an initial position for the given start offset.
    fn initial_position(&self, offset: usize) -> Option<Self::Position>;

    /// Attempt to match at the given location.
    /// \return either the Match and the position to start looking for the next
    /// match, or None on failure.
    fn next_match(
        &mut self,
        pos: Self::Position,
        next_start: &mut Option<Self::Position>,
    ) -> Option<Match>;

    /// Patched (PATCHED.md): give up after `steps` steps of matching, shared by every later match.
    /// Only the backtracking executor counts steps; others ignore the budget.
    fn set_step_budget(&mut self, _steps: u64) {}

    /// Patched: true once the step budget ran out (the iteration then ended early).
    fn step_budget_exceeded(&self) -> bool {
        false
    }
}

/// A trait for executing a regex.
pub trait Executor<'r, 't>: MatchProducer {
    /// The ASCII variant.
    type AsAscii: Executor<'r, 't>;

    /// Construct a new Executor.
    fn new(re: &'r CompiledRegex, text: &'t str) -> Self;
}

/// A struct which enables iteration over matches.
#[derive(Debug)]
pub struct Matches<Producer: MatchProducer> {
    mp: Producer,
    position: Option<Producer::Position>,
}

impl<Producer: MatchProducer> Matches<Producer> {
    pub fn new(mp: Producer, start: usize) -> Self {
        let position = mp.initial_position(start);
        Matches { mp, position }
    }
}

impl<Producer: MatchProducer> Matches<Producer> {
    /// Patched (PATCHED.md): these matches stop, with [`Matches::step_budget_exceeded`] true, once
    /// matching took `steps` steps in all (an instruction of the backtracking matcher is one step, a
    /// back-reference or a single-character loop one per character it compares).
    pub fn with_step_budget(mut self, steps: u64) -> Self {
        self.mp.set_step_budget(steps);
        self
    }

    /// Patched: true when the iteration ended because the step budget ran out, not because there
    /// are no more matches.
    pub fn step_budget_exceeded(&self) -> bool {
        self.mp.step_budget_exceeded()
    }
}

impl<Producer: MatchProducer> Iterator for Matches<Producer> {
    type Item = Match;
    fn next(&mut self) -> Option<Self::Item> {
        let pos = self.position?;
        self.mp.next_match(pos, &mut self.position)
    }
}
