//! Every message type of this crate by name and by RIHS01 hash, with converters between its
//! rkyv archive (what travels in envelopes) and a dynamic [`Value`]: tools that learn a
//! topic's type at run time (`omni-mesh topic echo`, `topic pub`) decode and build messages
//! through it.
//!
//! ```
//! use omni_msgs::dynamic;
//! use omni_msgs::rt::value::Value;
//!
//! let t = dynamic::by_name("std_msgs/msg/String").unwrap();
//! let archive = (t.encode)(&Value::Struct(vec![("data".into(), Value::String("hi".into()))]))
//!     .unwrap();
//! assert_eq!((t.decode)(&archive).unwrap().to_json(), r#"{"data":"hi"}"#);
//! assert!(dynamic::by_hash(&t.hash).is_some());
//! assert!(dynamic::by_name("geometry_msgs/Twist").is_some()); // the short form works too
//! ```

use mesh_msg_runtime::rkyv;
use mesh_msg_runtime::rkyv::api::high::{HighDeserializer, HighSerializer, HighValidator};
use mesh_msg_runtime::rkyv::bytecheck::CheckBytes;
use mesh_msg_runtime::rkyv::rancor::Error as RkyvError;
use mesh_msg_runtime::rkyv::ser::allocator::ArenaHandle;
use mesh_msg_runtime::rkyv::util::AlignedVec;
use mesh_msg_runtime::value::Value;
use mesh_msg_runtime::visit::{ValueBuilder, Visit, Visitor};
use mesh_msg_runtime::Message;

/// One message type.
#[derive(Debug, Clone, Copy)]
pub struct DynType {
    /// `pkg/msg/Type`.
    pub name: &'static str,
    /// RIHS01 digest.
    pub hash: [u8; 32],
    /// JSON Schema of the type.
    pub schema: &'static str,
    /// Archive bytes (any alignment) to a value; the archive is validated first.
    pub decode: fn(&[u8]) -> Result<Value, String>,
    /// Validates archive bytes where they lie (they must start on an 8-byte boundary, see
    /// [`ALIGN`]) and reports the message to a visitor, primitive arrays in place.
    pub visit: fn(&[u8], &mut dyn Visitor) -> Result<(), String>,
    /// A value to archive bytes; bounds are checked.
    pub encode: fn(&Value) -> Result<Vec<u8>, String>,
    /// Archive bytes (any alignment) to classic little-endian CDR with its encapsulation
    /// header, as ROS 2 puts it on the wire; the archive is validated and bounds checked.
    pub to_cdr: fn(&[u8]) -> Result<Vec<u8>, String>,
    /// CDR bytes (encapsulation header included, either byte order) to archive bytes;
    /// malformed input and broken bounds are errors.
    pub from_cdr: fn(&[u8]) -> Result<Vec<u8>, String>,
    /// The default value of the type (every field, for templates).
    pub default: fn() -> Value,
    /// A deterministic sample value with every field set (for tests).
    pub sample: fn(u64) -> Value,
}

/// The alignment archives are read at in place ([`DynType::visit`]): that of the widest
/// primitive (`float64`, `int64`). Frames put archives on it after the 152-byte header.
pub const ALIGN: usize = 8;

/// Whether `bytes` can be visited in place.
#[must_use]
pub fn is_aligned(bytes: &[u8]) -> bool {
    bytes.as_ptr() as usize % ALIGN == 0
}

fn visit<T>(bytes: &[u8], visitor: &mut dyn Visitor) -> Result<(), String>
where
    T: Message + rkyv::Archive,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, RkyvError>> + Visit,
{
    if !is_aligned(bytes) {
        return Err(format!(
            "a {} archive must start on a {ALIGN}-byte boundary to be read in place",
            T::TYPE_NAME
        ));
    }
    let archived = rkyv::access::<T::Archived, RkyvError>(bytes)
        .map_err(|e| format!("not a valid {} archive: {e}", T::TYPE_NAME))?;
    archived.visit(visitor);
    Ok(())
}

fn decode<T>(bytes: &[u8]) -> Result<Value, String>
where
    T: Message + rkyv::Archive,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, RkyvError>> + Visit,
{
    let mut builder = ValueBuilder::default();
    if is_aligned(bytes) {
        visit::<T>(bytes, &mut builder)?;
    } else {
        let mut aligned = AlignedVec::<ALIGN>::with_capacity(bytes.len());
        aligned.extend_from_slice(bytes);
        visit::<T>(&aligned, &mut builder)?;
    }
    builder
        .finish()
        .ok_or_else(|| format!("{} archive visit ended early", T::TYPE_NAME))
}

fn encode<T>(value: &Value) -> Result<Vec<u8>, String>
where
    T: Message + for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, RkyvError>>,
{
    let message = T::from_value(value).map_err(|e| e.to_string())?;
    message.validate().map_err(|e| e.to_string())?;
    rkyv::to_bytes::<RkyvError>(&message)
        .map(|v| v.to_vec())
        .map_err(|e| e.to_string())
}

fn to_cdr<T>(bytes: &[u8]) -> Result<Vec<u8>, String>
where
    T: Message + rkyv::Archive,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, RkyvError>>
        + rkyv::Deserialize<T, HighDeserializer<RkyvError>>,
{
    let mut aligned = AlignedVec::<ALIGN>::with_capacity(bytes.len());
    aligned.extend_from_slice(bytes);
    let message = rkyv::from_bytes::<T, RkyvError>(&aligned)
        .map_err(|e| format!("not a valid {} archive: {e}", T::TYPE_NAME))?;
    message
        .to_cdr()
        .map_err(|e| format!("{}: {e}", T::TYPE_NAME))
}

fn from_cdr<T>(bytes: &[u8]) -> Result<Vec<u8>, String>
where
    T: Message + for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, RkyvError>>,
{
    let message = T::from_cdr(bytes).map_err(|e| format!("{}: {e}", T::TYPE_NAME))?;
    rkyv::to_bytes::<RkyvError>(&message)
        .map(|v| v.to_vec())
        .map_err(|e| e.to_string())
}

fn default<T: Message>() -> Value {
    T::default().to_value()
}

fn sample<T: Message + mesh_msg_runtime::Sample>(seed: u64) -> Value {
    T::sample(seed).to_value()
}

macro_rules! entry {
    ($t:path) => {
        DynType {
            name: <$t as Message>::TYPE_NAME,
            hash: <$t as Message>::TYPE_HASH.value,
            schema: <$t as Message>::JSON_SCHEMA,
            decode: decode::<$t>,
            visit: visit::<$t>,
            to_cdr: to_cdr::<$t>,
            from_cdr: from_cdr::<$t>,
            encode: encode::<$t>,
            default: default::<$t>,
            sample: sample::<$t>,
        }
    };
}

fn build() -> Vec<DynType> {
    let mut types = Vec::new();
    macro_rules! push_entry {
        ($t:path) => {
            types.push(entry!($t))
        };
    }
    crate::for_each_message!(push_entry, crate);
    types
}

/// Every type of this crate.
pub fn all() -> &'static [DynType] {
    static TYPES: std::sync::OnceLock<Vec<DynType>> = std::sync::OnceLock::new();
    TYPES.get_or_init(build)
}

/// The type named `name` (`pkg/msg/Type`, or `pkg/Type`).
#[must_use]
pub fn by_name(name: &str) -> Option<&'static DynType> {
    let full = match name.split('/').collect::<Vec<_>>()[..] {
        [pkg, ty] => format!("{pkg}/msg/{ty}"),
        _ => name.to_owned(),
    };
    all().iter().find(|t| t.name == full)
}

/// The type whose RIHS01 digest is `hash`.
#[must_use]
pub fn by_hash(hash: &[u8; 32]) -> Option<&'static DynType> {
    all().iter().find(|t| &t.hash == hash)
}
