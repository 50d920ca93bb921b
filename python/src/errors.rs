//! The exception hierarchy, rooted in `omnimesh.Error`.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(omnimesh, Error, PyException, "Every OMNI-MESH error.");
create_exception!(
    omnimesh,
    MessageError,
    Error,
    "A value does not fit its message type."
);
create_exception!(
    omnimesh,
    TransportError,
    Error,
    "Shared memory or a port failed."
);
create_exception!(
    omnimesh,
    ConfigError,
    Error,
    "A node could not be configured (name, key, mode)."
);
create_exception!(
    omnimesh,
    CallTimeout,
    Error,
    "A service call got no reply in time."
);

/// Registers the exceptions in the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type_bound::<Error>())?;
    m.add("MessageError", py.get_type_bound::<MessageError>())?;
    m.add("TransportError", py.get_type_bound::<TransportError>())?;
    m.add("ConfigError", py.get_type_bound::<ConfigError>())?;
    m.add("CallTimeout", py.get_type_bound::<CallTimeout>())?;
    Ok(())
}

/// A transport failure as a Python exception.
pub fn transport(e: impl std::fmt::Display) -> PyErr {
    TransportError::new_err(e.to_string())
}
