//! An object's members in the order they were inserted, as JavaScript (JSONata's reference
//! implementation) keeps them and AWS Step Functions records them: `$merge([{"hello": "world"},
//! {"foo": "bar"}])` is `{"hello":"world","foo":"bar"}` (LocalStack's AWS-validated
//! `test_base_evaluate_expressions::test_merge_with_dynamic_args`). Patched in: upstream kept a
//! `hashbrown::HashMap`, whose iteration order is its hash order.
//!
//! The members are a vector in the arena; a hash table of their positions finds a key. Assigning a
//! key that is there keeps its place (as in JavaScript); removing one shifts the later members up.

use std::hash::BuildHasher;

use bumpalo::collections::String as BumpString;
use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use hashbrown::{DefaultHashBuilder, HashTable};

use super::Value;

/// One member.
pub type Member<'a> = (BumpString<'a>, &'a Value<'a>);

/// The iterator over an object's members, in order: `(key, value)` as `hashbrown`'s map gave them.
pub type Entries<'m, 'a> = std::iter::Map<
    std::slice::Iter<'m, Member<'a>>,
    fn(&'m Member<'a>) -> (&'m BumpString<'a>, &'m &'a Value<'a>),
>;

/// An ordered map from keys to values, allocated in the evaluation's arena.
pub struct ObjectMap<'a> {
    members: BumpVec<'a, Member<'a>>,
    /// Positions in `members`, by the hash of their keys.
    index: HashTable<usize, &'a Bump>,
    hasher: DefaultHashBuilder,
}

impl<'a> ObjectMap<'a> {
    pub fn new_in(arena: &'a Bump) -> Self {
        Self::with_capacity_in(0, arena)
    }

    pub fn with_capacity_in(capacity: usize, arena: &'a Bump) -> Self {
        ObjectMap {
            members: BumpVec::with_capacity_in(capacity, arena),
            index: HashTable::with_capacity_in(capacity, arena),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// The arena the members are allocated in.
    pub fn allocator(&self) -> &'a Bump {
        self.members.bump()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Where `key` (whose hash is `hash`) is among the members.
    fn find(&self, hash: u64, key: &str) -> Option<usize> {
        let members = &self.members;
        self.index.find(hash, |&i| members[i].0.as_str() == key).copied()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.find(self.hash(key), key)
    }

    /// Indexes member `i`, whose key's hash is `hash`.
    fn index_member(&mut self, hash: u64, i: usize) {
        let (members, hasher) = (&self.members, &self.hasher);
        self.index.insert_unique(hash, i, |&j| hasher.hash_one(members[j].0.as_str()));
    }

    pub fn get(&self, key: &str) -> Option<&&'a Value<'a>> {
        self.position(key).map(|i| &self.members[i].1)
    }

    /// Sets `key` to `value`: in its place when it is there, else after the last member.
    pub fn insert(&mut self, key: BumpString<'a>, value: &'a Value<'a>) {
        let hash = self.hash(key.as_str());
        match self.find(hash, key.as_str()) {
            Some(i) => self.members[i].1 = value,
            None => {
                self.members.push((key, value));
                self.index_member(hash, self.members.len() - 1);
            }
        }
    }

    /// Removes `key` (the later members move up one place, and the index is made again).
    pub fn remove(&mut self, key: &str) {
        let Some(i) = self.position(key) else { return };
        self.members.remove(i);
        self.index.clear();
        for j in 0..self.members.len() {
            let hash = self.hash(self.members[j].0.as_str());
            self.index_member(hash, j);
        }
    }

    /// The members in order.
    pub fn iter(&self) -> Entries<'_, 'a> {
        self.members.iter().map(|(k, v)| (k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &BumpString<'a>> {
        self.members.iter().map(|(k, _)| k)
    }

    /// Inserts every member of `iter`, in its order.
    pub fn extend(&mut self, iter: impl IntoIterator<Item = (BumpString<'a>, &'a Value<'a>)>) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl std::fmt::Debug for ObjectMap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Two objects are equal when they have the same members, in any order.
impl<'a> PartialEq for ObjectMap<'a> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k.as_str()).is_some_and(|w| **w == **v))
    }
}
