//! Python objects <-> dynamic message values: dicts are messages, lists and tuples are
//! arrays, `bytes`-like objects are byte arrays; the generated dataclasses are flattened to
//! dicts by the pure-Python layer before they get here.

use omni_msgs::rt::value::Value;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyList, PyLong, PyString, PyTuple,
};

use crate::errors::MessageError;

/// A Python value to a message value.
pub fn to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract()?));
    }
    if obj.is_instance_of::<PyLong>() {
        return match obj.extract::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Ok(Value::UInt(obj.extract::<u64>().map_err(|_| {
                MessageError::new_err(format!("integer {obj} does not fit 64 bits"))
            })?)),
        };
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(Value::Float(obj.extract()?));
    }
    if obj.is_instance_of::<PyString>() {
        return Ok(Value::String(obj.extract()?));
    }
    if let Ok(bytes) = obj.downcast::<PyBytes>() {
        return Ok(Value::Bytes(bytes.as_bytes().to_vec()));
    }
    if let Ok(bytes) = obj.downcast::<PyByteArray>() {
        return Ok(Value::Bytes(bytes.to_vec()));
    }
    if let Ok(dict) = obj.downcast::<PyDict>() {
        let mut fields = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let name: String = k
                .extract()
                .map_err(|_| MessageError::new_err(format!("field names are strings, got {k}")))?;
            fields.push((name, to_value(&v)?));
        }
        return Ok(Value::Struct(fields));
    }
    if let Ok(list) = obj.downcast::<PyList>() {
        return list
            .iter()
            .map(|v| to_value(&v))
            .collect::<PyResult<_>>()
            .map(Value::List);
    }
    if let Ok(tuple) = obj.downcast::<PyTuple>() {
        return tuple
            .iter()
            .map(|v| to_value(&v))
            .collect::<PyResult<_>>()
            .map(Value::List);
    }
    if let Ok(view) = obj.call_method0("tobytes") {
        if let Ok(bytes) = view.downcast::<PyBytes>() {
            return Ok(Value::Bytes(bytes.as_bytes().to_vec()));
        }
    }
    Err(MessageError::new_err(format!(
        "cannot put a {} into a message",
        obj.get_type().name()?
    )))
}

/// A message value to Python (dicts, lists, bytes, numbers, strings).
pub fn to_py(py: Python<'_>, value: &Value) -> PyObject {
    match value {
        Value::Bool(b) => b.into_py(py),
        Value::Int(i) => i.into_py(py),
        Value::UInt(u) => u.into_py(py),
        Value::Float(f) => f.into_py(py),
        Value::String(s) => s.into_py(py),
        Value::Bytes(b) => PyBytes::new_bound(py, b).into_any().unbind(),
        Value::List(items) => PyList::new_bound(py, items.iter().map(|v| to_py(py, v)))
            .into_any()
            .unbind(),
        Value::Struct(fields) => {
            let dict = PyDict::new_bound(py);
            for (k, v) in fields {
                let _ = dict.set_item(k, to_py(py, v));
            }
            dict.into_any().unbind()
        }
    }
}
