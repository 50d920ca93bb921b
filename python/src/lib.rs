#![allow(unexpected_cfgs)] // pyo3 0.22 macros test a `gil-refs` feature this crate does not declare
#![allow(clippy::useless_conversion)] // false positive on pyo3 0.22 #[pyfunction]/#[pymethods] expansions
//! `omnimesh._native`: the Rust side of the Python node API. Nodes, publishers,
//! subscriptions, service servers and clients over shared memory (the host daemon carries
//! them between hosts), with messages as plain Python values converted through the
//! generated type registry, so the bytes on the wire are exactly what Rust nodes send.
//! Blocking calls release the GIL and look for signals every 50 ms, so Ctrl-C interrupts
//! them promptly.

mod convert;
mod errors;
mod ports;
mod view;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<ports::Node>()?;
    m.add_class::<ports::Publisher>()?;
    m.add_class::<ports::Subscription>()?;
    m.add_class::<ports::Client>()?;
    m.add_class::<ports::Server>()?;
    m.add_class::<view::ArchiveBuffer>()?;
    m.add_function(wrap_pyfunction!(ports::type_hash, m)?)?;
    m.add_function(wrap_pyfunction!(ports::encode, m)?)?;
    m.add_function(wrap_pyfunction!(ports::decode, m)?)?;
    m.add_function(wrap_pyfunction!(ports::to_cdr, m)?)?;
    m.add_function(wrap_pyfunction!(ports::from_cdr, m)?)?;
    m.add_function(wrap_pyfunction!(ports::wait_any, m)?)?;
    Ok(())
}
