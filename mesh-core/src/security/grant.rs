//! Authority-signed grants ("DID X may publish `/fleet/*/cmd_vel` until T"), topic patterns,
//! and revocation lists.

use std::fmt;

use ed25519_dalek::Signature;

use crate::identity::{NodeKey, PublicKey};

const GRANT_TAG: &[u8; 24] = b"omni-mesh/grant/v1\0\0\0\0\0\0";
const REVOCATION_TAG: &[u8; 24] = b"omni-mesh/revocation/v1\0";
/// Longest topic pattern accepted in a grant.
pub const MAX_PATTERN_LEN: usize = 1024;

/// What a grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Publish on matching topics.
    Publish,
    /// Subscribe to matching topics.
    Subscribe,
    /// Both.
    PublishSubscribe,
}

impl Access {
    fn bits(self) -> u8 {
        match self {
            Self::Publish => 1,
            Self::Subscribe => 2,
            Self::PublishSubscribe => 3,
        }
    }

    fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            1 => Some(Self::Publish),
            2 => Some(Self::Subscribe),
            3 => Some(Self::PublishSubscribe),
            _ => None,
        }
    }

    /// True when `self` includes everything `wanted` asks for.
    #[must_use]
    pub fn allows(self, wanted: Access) -> bool {
        self.bits() & wanted.bits() == wanted.bits()
    }
}

/// A topic pattern: `/`-separated segments where `*` matches one segment and `**` any number
/// (including none). `/fleet/*/cmd_vel`, `/fleet/**`, `/map`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TopicPattern(String);

/// A topic pattern is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// Patterns are absolute.
    #[error("topic pattern `{0}` must start with `/`")]
    NotAbsolute(String),
    /// `//` or a trailing `/`.
    #[error("topic pattern `{0}` has an empty segment")]
    EmptySegment(String),
    /// `*` mixed with other characters in one segment.
    #[error("topic pattern `{0}`: `*` and `**` must be whole segments")]
    PartialWildcard(String),
    /// Too long.
    #[error("topic pattern of {0} bytes exceeds {MAX_PATTERN_LEN}")]
    TooLong(usize),
}

impl TopicPattern {
    /// Validates a pattern.
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(PatternError::TooLong(pattern.len()));
        }
        let rest = pattern
            .strip_prefix('/')
            .ok_or_else(|| PatternError::NotAbsolute(pattern.into()))?;
        for segment in rest.split('/') {
            if segment.is_empty() {
                return Err(PatternError::EmptySegment(pattern.into()));
            }
            if segment.contains('*') && segment != "*" && segment != "**" {
                return Err(PatternError::PartialWildcard(pattern.into()));
            }
        }
        Ok(Self(pattern.to_owned()))
    }

    /// The pattern text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `topic` (an absolute topic name) matches. Runs in O(segments^2).
    #[must_use]
    pub fn matches(&self, topic: &str) -> bool {
        let Some(topic) = topic.strip_prefix('/') else {
            return false;
        };
        let pat: Vec<&str> = self.0[1..].split('/').collect();
        let top: Vec<&str> = topic.split('/').collect();
        // reach[j]: the pattern prefix consumed so far can match topic[..j].
        let mut reach = vec![false; top.len() + 1];
        reach[0] = true;
        for seg in pat {
            let mut next = vec![false; top.len() + 1];
            for j in 0..=top.len() {
                if !reach[j] {
                    continue;
                }
                match seg {
                    "**" => next[j..].iter_mut().for_each(|r| *r = true),
                    "*" if j < top.len() => next[j + 1] = true,
                    lit if j < top.len() && top[j] == lit => next[j + 1] = true,
                    _ => {}
                }
            }
            reach = next;
        }
        reach[top.len()]
    }
}

impl fmt::Debug for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TopicPattern({})", self.0)
    }
}

/// A grant or revocation list is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// Signed by someone other than the fleet authority (e.g. self-signed).
    #[error("issued by {issuer}, not by the fleet authority")]
    WrongIssuer {
        /// Who signed it.
        issuer: PublicKey,
    },
    /// No fleet authority is configured, so no grant can be checked.
    #[error("no fleet authority key is configured")]
    NoAuthority,
    /// The signature does not verify.
    #[error("grant signature does not verify")]
    BadSignature,
    /// Encoded bytes are malformed.
    #[error("malformed grant encoding: {0}")]
    Malformed(&'static str),
    /// A key inside is not acceptable.
    #[error(transparent)]
    Key(#[from] crate::identity::PublicKeyError),
    /// A pattern inside is malformed.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// A revocation list older than the one applied.
    #[error("revocation list serial {serial} is not newer than {current}")]
    StaleRevocations {
        /// Serial received.
        serial: u64,
        /// Serial applied.
        current: u64,
    },
}

/// Permission for `subject` to publish and/or subscribe on topics matching `pattern` between
/// `not_before_ns` and `not_after_ns` (Unix nanoseconds, inclusive), signed by `issuer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Who is allowed.
    pub subject: PublicKey,
    /// Which topics.
    pub pattern: TopicPattern,
    /// What is allowed.
    pub access: Access,
    /// Valid from.
    pub not_before_ns: u64,
    /// Valid until.
    pub not_after_ns: u64,
    /// Who signed it.
    pub issuer: PublicKey,
    signature: [u8; 64],
}

fn key_at(bytes: &[u8], at: usize) -> Result<PublicKey, GrantError> {
    let mut k = [0u8; 32];
    k.copy_from_slice(
        bytes
            .get(at..at + 32)
            .ok_or(GrantError::Malformed("truncated key"))?,
    );
    Ok(PublicKey::from_bytes(k)?)
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, GrantError> {
    let mut v = [0u8; 8];
    v.copy_from_slice(
        bytes
            .get(at..at + 8)
            .ok_or(GrantError::Malformed("truncated number"))?,
    );
    Ok(u64::from_le_bytes(v))
}

fn verify_by(issuer: &PublicKey, message: &[u8], signature: &[u8; 64]) -> Result<(), GrantError> {
    let key = issuer
        .verifying_key()
        .map_err(|_| GrantError::BadSignature)?;
    key.verify_strict(message, &Signature::from_bytes(signature))
        .map_err(|_| GrantError::BadSignature)
}

impl Grant {
    /// Issues and signs a grant with `issuer`'s key.
    #[must_use]
    pub fn issue(
        issuer: &NodeKey,
        subject: PublicKey,
        pattern: TopicPattern,
        access: Access,
        not_before_ns: u64,
        not_after_ns: u64,
    ) -> Self {
        let mut grant = Self {
            subject,
            pattern,
            access,
            not_before_ns,
            not_after_ns,
            issuer: issuer.public(),
            signature: [0; 64],
        };
        grant.signature = issuer.sign(&grant.signed_message());
        grant
    }

    /// Encoding without the tag: `subject | issuer | access | not_before | not_after |
    /// pattern_len u16 | pattern`, all little-endian.
    fn body(&self) -> Vec<u8> {
        let pattern = self.pattern.as_str().as_bytes();
        let mut out = Vec::with_capacity(83 + pattern.len() + 64);
        out.extend_from_slice(self.subject.as_bytes());
        out.extend_from_slice(self.issuer.as_bytes());
        out.push(self.access.bits());
        out.extend_from_slice(&self.not_before_ns.to_le_bytes());
        out.extend_from_slice(&self.not_after_ns.to_le_bytes());
        out.extend_from_slice(
            &u16::try_from(pattern.len())
                .unwrap_or(u16::MAX)
                .to_le_bytes(),
        );
        out.extend_from_slice(pattern);
        out
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut msg = GRANT_TAG.to_vec();
        msg.extend_from_slice(&self.body());
        msg
    }

    /// Wire/storage encoding: body then signature.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(&self.signature);
        out
    }

    /// Decodes [`Grant::to_bytes`] output (the signature is checked by [`Grant::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, GrantError> {
        let subject = key_at(bytes, 0)?;
        let issuer = key_at(bytes, 32)?;
        let access = bytes.get(64).copied().and_then(Access::from_bits);
        let access = access.ok_or(GrantError::Malformed("unknown access bits"))?;
        let not_before_ns = u64_at(bytes, 65)?;
        let not_after_ns = u64_at(bytes, 73)?;
        let len_bytes = bytes
            .get(81..83)
            .ok_or(GrantError::Malformed("truncated pattern length"))?;
        let len = usize::from(u16::from_le_bytes([len_bytes[0], len_bytes[1]]));
        if bytes.len() != 83 + len + 64 {
            return Err(GrantError::Malformed(
                "length does not match the pattern length",
            ));
        }
        let pattern = std::str::from_utf8(&bytes[83..83 + len])
            .map_err(|_| GrantError::Malformed("pattern is not UTF-8"))?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&bytes[83 + len..]);
        Ok(Self {
            subject,
            pattern: TopicPattern::new(pattern)?,
            access,
            not_before_ns,
            not_after_ns,
            issuer,
            signature,
        })
    }

    /// Checks that `authority` issued and signed this grant.
    pub fn verify(&self, authority: &PublicKey) -> Result<(), GrantError> {
        if &self.issuer != authority {
            return Err(GrantError::WrongIssuer {
                issuer: self.issuer,
            });
        }
        verify_by(authority, &self.signed_message(), &self.signature)
    }

    /// True when valid at `now_ns`.
    #[must_use]
    pub fn is_valid_at(&self, now_ns: u64) -> bool {
        (self.not_before_ns..=self.not_after_ns).contains(&now_ns)
    }
}

/// Keys the fleet authority has revoked; a higher serial replaces a lower one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationList {
    /// Monotonic serial.
    pub serial: u64,
    /// Revoked keys.
    pub revoked: Vec<PublicKey>,
    /// Who signed it.
    pub issuer: PublicKey,
    signature: [u8; 64],
}

impl RevocationList {
    /// Issues and signs a revocation list.
    #[must_use]
    pub fn issue(issuer: &NodeKey, serial: u64, revoked: Vec<PublicKey>) -> Self {
        let mut list = Self {
            serial,
            revoked,
            issuer: issuer.public(),
            signature: [0; 64],
        };
        list.signature = issuer.sign(&list.signed_message());
        list
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut msg = REVOCATION_TAG.to_vec();
        msg.extend_from_slice(self.issuer.as_bytes());
        msg.extend_from_slice(&self.serial.to_le_bytes());
        for key in &self.revoked {
            msg.extend_from_slice(key.as_bytes());
        }
        msg
    }

    /// Checks that `authority` issued and signed this list.
    pub fn verify(&self, authority: &PublicKey) -> Result<(), GrantError> {
        if &self.issuer != authority {
            return Err(GrantError::WrongIssuer {
                issuer: self.issuer,
            });
        }
        verify_by(authority, &self.signed_message(), &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segments() {
        let p = |s: &str| TopicPattern::new(s).unwrap();
        assert!(p("/fleet/*/cmd_vel").matches("/fleet/amr_1/cmd_vel"));
        assert!(!p("/fleet/*/cmd_vel").matches("/fleet/a/b/cmd_vel"));
        assert!(!p("/fleet/*/cmd_vel").matches("/fleet/cmd_vel"));
        assert!(p("/fleet/**").matches("/fleet"));
        assert!(p("/fleet/**").matches("/fleet/a/b/c"));
        assert!(p("/**/odom").matches("/x/y/odom"));
        assert!(p("/**/odom").matches("/odom"));
        assert!(!p("/map").matches("/map/x"));
        assert!(!p("/map").matches("map"));
        assert!(TopicPattern::new("fleet").is_err());
        assert!(TopicPattern::new("/a//b").is_err());
        assert!(TopicPattern::new("/a/b*").is_err());
    }

    #[test]
    fn grant_encoding_round_trips_and_detects_tampering() {
        let authority = NodeKey::generate();
        let subject = NodeKey::generate().public();
        let g = Grant::issue(
            &authority,
            subject,
            TopicPattern::new("/fleet/**").unwrap(),
            Access::Publish,
            1,
            2,
        );
        let bytes = g.to_bytes();
        let back = Grant::from_bytes(&bytes).unwrap();
        assert_eq!(back, g);
        back.verify(&authority.public()).unwrap();
        let mut tampered = bytes.clone();
        tampered[66] ^= 1; // not_before
        assert_eq!(
            Grant::from_bytes(&tampered)
                .unwrap()
                .verify(&authority.public()),
            Err(GrantError::BadSignature)
        );
        assert!(Grant::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }
}
