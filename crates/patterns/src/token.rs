//! Task tokens for `.waitForTaskToken`: minting, and the SendTask* operations.
//!
//! A token is 256 random bits (base64url, prefixed `AQ`), so it cannot be guessed; it is single-use:
//! once a task completes, its token answers `TaskDoesNotExist` (or `TaskTimedOut` when the task timed out).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use rand::RngCore as _;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::error::SendTaskError;

/// Longest token Step Functions accepts (API limit: SendTaskSuccess/Failure/Heartbeat `taskToken`, "Maximum
/// length of 2048", AWS Step Functions API Reference).
pub const MAX_TOKEN_LEN: usize = 2048;
/// Largest output SendTaskSuccess accepts (256 KiB).
pub const MAX_OUTPUT_BYTES: usize = 262_144;
/// Longest error SendTaskFailure accepts.
pub const MAX_ERROR_CHARS: usize = 256;
/// Longest cause SendTaskFailure accepts.
pub const MAX_CAUSE_CHARS: usize = 32_768;
/// How many finished tokens are remembered to answer `TaskTimedOut` rather than `TaskDoesNotExist`.
const FINISHED_MEMORY: usize = 100_000;

/// What a waiting task receives.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackMessage {
    /// SendTaskSuccess with its (parsed) output.
    Success(Value),
    /// SendTaskFailure with its error and cause.
    Failure {
        /// The error name, when one was sent.
        error: Option<String>,
        /// The cause, when one was sent.
        cause: Option<String>,
    },
    /// SendTaskHeartbeat.
    Heartbeat,
    /// A worker took the activity task this token belongs to (GetActivityTask), naming itself or not.
    Started {
        /// GetActivityTask's `workerName`.
        worker_name: Option<String>,
    },
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    /// The execution ARN.
    pub execution_arn: String,
    /// The Task state's name.
    pub state_name: String,
}

struct Entry {
    owner: TokenOwner,
    tx: mpsc::UnboundedSender<CallbackMessage>,
}

#[derive(Default)]
struct Inner {
    live: HashMap<String, Entry>,
    /// Receivers of reserved tokens ([`TokenRegistry::reserve`]) until their task adopts them.
    reserved: HashMap<String, mpsc::UnboundedReceiver<CallbackMessage>>,
    timed_out: HashMap<String, ()>,
    order: VecDeque<String>,
}

/// Issues task tokens and routes SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat to the waiting task.
#[derive(Clone, Default)]
pub struct TokenRegistry {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for TokenRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRegistry").field("live", &self.lock().live.len()).finish()
    }
}

/// The waiting side of a token: receives the callback messages; dropping it retires the token.
#[derive(Debug)]
pub struct CallbackReceiver {
    token: String,
    rx: mpsc::UnboundedReceiver<CallbackMessage>,
    registry: TokenRegistry,
    timed_out: bool,
}

impl CallbackReceiver {
    /// The token this receiver waits on.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The next message; `None` only if the registry was dropped.
    pub async fn recv(&mut self) -> Option<CallbackMessage> {
        self.rx.recv().await
    }

    /// Marks the token as timed out: later sends answer `TaskTimedOut`.
    pub fn mark_timed_out(&mut self) {
        self.timed_out = true;
    }
}

impl Drop for CallbackReceiver {
    fn drop(&mut self) {
        self.registry.retire(&self.token, self.timed_out);
    }
}

impl TokenRegistry {
    /// A registry with no tokens.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-update of plain maps; the maps stay usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Mints a fresh token for a task and returns the receiver that waits on it.
    pub fn mint(&self, owner: TokenOwner) -> CallbackReceiver {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("AQ{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        self.adopt(token, owner)
    }

    /// Registers an existing token (a restored execution) and returns its receiver; a token reserved
    /// with [`TokenRegistry::reserve`] keeps what was sent to it meanwhile.
    pub fn adopt(&self, token: String, owner: TokenOwner) -> CallbackReceiver {
        let mut inner = self.lock();
        let rx = match inner.reserved.remove(&token) {
            // Still live, or already completed while reserved: its receiver holds the message.
            Some(rx) => {
                if let Some(entry) = inner.live.get_mut(&token) {
                    entry.owner = owner;
                }
                rx
            }
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                inner.live.insert(token.clone(), Entry { owner, tx });
                rx
            }
        };
        drop(inner);
        CallbackReceiver { token, rx, registry: self.clone(), timed_out: false }
    }

    /// Makes a recorded, still outstanding token of a resumed execution valid at once: callbacks sent
    /// before the resumed task reaches it again ([`TokenRegistry::adopt`]) wait for it instead of
    /// answering `TaskDoesNotExist` (after a restart a worker may call back while the execution replays).
    pub fn reserve(&self, token: String, owner: TokenOwner) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = self.lock();
        inner.live.insert(token.clone(), Entry { owner, tx });
        inner.reserved.insert(token, rx);
    }

    /// Drops the reservations of `execution_arn` that its task never adopted (the execution ended).
    pub fn release(&self, execution_arn: &str) {
        let mut inner = self.lock();
        let Inner { live, reserved, .. } = &mut *inner;
        reserved.retain(|token, _| {
            let mine = live.get(token).is_some_and(|e| e.owner.execution_arn == execution_arn);
            if mine {
                live.remove(token);
            }
            !mine
        });
    }

    /// The owner of a live token.
    pub fn owner(&self, token: &str) -> Option<TokenOwner> {
        self.lock().live.get(token).map(|e| e.owner.clone())
    }

    /// Number of tokens currently awaiting a callback.
    pub fn live_count(&self) -> usize {
        self.lock().live.len()
    }

    fn retire(&self, token: &str, timed_out: bool) {
        let mut inner = self.lock();
        inner.live.remove(token);
        if timed_out {
            inner.timed_out.insert(token.to_owned(), ());
            inner.order.push_back(token.to_owned());
            while inner.order.len() > FINISHED_MEMORY {
                if let Some(old) = inner.order.pop_front() {
                    inner.timed_out.remove(&old);
                }
            }
        }
    }

    fn deliver(&self, token: &str, msg: CallbackMessage, retire: bool) -> Result<(), SendTaskError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SendTaskError::InvalidToken(token.chars().take(64).collect()));
        }
        let mut inner = self.lock();
        if inner.timed_out.contains_key(token) {
            return Err(SendTaskError::TaskTimedOut(token.to_owned()));
        }
        let sent = match inner.live.get(token) {
            Some(entry) => entry.tx.send(msg).is_ok(),
            None if token.starts_with("AQ") => return Err(SendTaskError::TaskDoesNotExist),
            None => return Err(SendTaskError::InvalidToken(token.chars().take(64).collect())),
        };
        if !sent {
            inner.live.remove(token);
            return Err(SendTaskError::TaskDoesNotExist);
        }
        if retire {
            // Single use: the first completion wins, later ones see TaskDoesNotExist.
            inner.live.remove(token);
        }
        Ok(())
    }

    /// SendTaskSuccess: `output` must be JSON text of at most 256 KiB.
    pub fn send_success(&self, token: &str, output: &str) -> Result<(), SendTaskError> {
        if output.len() > MAX_OUTPUT_BYTES {
            return Err(SendTaskError::InvalidOutput(format!(
                "Output exceeds the maximum size of {MAX_OUTPUT_BYTES} bytes"
            )));
        }
        let value: Value = serde_json::from_str(output)
            .map_err(|e| SendTaskError::InvalidOutput(format!("Invalid JSON output: {e}")))?;
        self.deliver(token, CallbackMessage::Success(value), true)
    }

    /// SendTaskFailure with an optional error name and cause.
    pub fn send_failure(
        &self,
        token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), SendTaskError> {
        self.deliver(token, CallbackMessage::Failure { error, cause }, true)
    }

    /// SendTaskHeartbeat: resets the task's HeartbeatSeconds clock.
    pub fn send_heartbeat(&self, token: &str) -> Result<(), SendTaskError> {
        self.deliver(token, CallbackMessage::Heartbeat, false)
    }

    /// Tells the activity task waiting on `token` that a worker took it (GetActivityTask handed it out);
    /// an error when the task no longer waits (it timed out or its execution ended meanwhile).
    pub fn start(&self, token: &str, worker_name: Option<String>) -> Result<(), SendTaskError> {
        self.deliver(token, CallbackMessage::Started { worker_name }, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> TokenOwner {
        TokenOwner {
            execution_arn: "arn:aws:states:us-east-1:1:execution:m:e".into(),
            state_name: "S".into(),
        }
    }

    #[tokio::test]
    async fn success_is_delivered_once() {
        let reg = TokenRegistry::new();
        let mut rx = reg.mint(owner());
        let token = rx.token().to_owned();
        assert!(token.len() >= 40 && token.len() <= MAX_TOKEN_LEN);
        reg.send_heartbeat(&token).unwrap();
        reg.send_success(&token, r#"{"ok":true}"#).unwrap();
        assert_eq!(rx.recv().await, Some(CallbackMessage::Heartbeat));
        assert_eq!(rx.recv().await, Some(CallbackMessage::Success(serde_json::json!({"ok": true}))));
        assert_eq!(reg.send_success(&token, "{}"), Err(SendTaskError::TaskDoesNotExist));
    }

    #[test]
    fn a_reserved_token_keeps_callbacks_sent_before_it_is_adopted() {
        let r = TokenRegistry::new();
        r.reserve("AQreserved".into(), owner());
        assert_eq!(r.owner("AQreserved"), Some(owner()));
        r.send_heartbeat("AQreserved").unwrap();
        r.send_success("AQreserved", "[1]").unwrap();
        assert!(matches!(r.send_success("AQreserved", "[2]"), Err(SendTaskError::TaskDoesNotExist)));
        let mut rx = r.adopt("AQreserved".into(), owner());
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert!(matches!(rt.block_on(rx.recv()), Some(CallbackMessage::Heartbeat)));
        assert!(
            matches!(rt.block_on(rx.recv()), Some(CallbackMessage::Success(v)) if v == serde_json::json!([1]))
        );
        drop(rx);
        // Released reservations of an execution that ended are gone.
        r.reserve("AQother".into(), owner());
        r.release(&owner().execution_arn);
        assert!(r.owner("AQother").is_none());
        assert!(matches!(r.send_success("AQother", "1"), Err(SendTaskError::TaskDoesNotExist)));
    }

    #[test]
    fn tokens_are_unique_and_random() {
        let reg = TokenRegistry::new();
        let a = reg.mint(owner());
        let b = reg.mint(owner());
        assert_ne!(a.token(), b.token());
    }

    #[test]
    fn errors_match_the_api() {
        let reg = TokenRegistry::new();
        assert_eq!(reg.send_heartbeat("").unwrap_err().code(), "InvalidToken");
        assert_eq!(reg.send_heartbeat("not a token").unwrap_err().code(), "InvalidToken");
        assert_eq!(reg.send_heartbeat("AQdoesnotexist").unwrap_err().code(), "TaskDoesNotExist");
        let mut rx = reg.mint(owner());
        let token = rx.token().to_owned();
        assert_eq!(reg.send_success(&token, "{nope").unwrap_err().code(), "InvalidOutput");
        rx.mark_timed_out();
        drop(rx);
        assert_eq!(reg.send_success(&token, "{}").unwrap_err().code(), "TaskTimedOut");
    }
}
