//! Python objects <-> dynamic message values: instances of the generated classes (read
//! through their `FIELDS`) and dicts are messages, lists and tuples are arrays, `bytes`,
//! `bytearray` and `uint8` buffers (memoryviews, numpy arrays) are byte arrays, other
//! buffers are read through their `tolist()`.

use omni_msgs::rt::value::Value;
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
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
    if obj.is_instance(message_base(obj.py())?)? {
        return message_to_value(obj);
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
    if let Ok(buffer) = PyBuffer::<u8>::get_bound(obj) {
        return Ok(Value::Bytes(buffer.to_vec(obj.py())?));
    }
    if let Ok(list) = obj.call_method0("tolist") {
        if list.is_instance_of::<PyList>() {
            return to_value(&list);
        }
    }
    Err(MessageError::new_err(format!(
        "cannot put a {} into a message",
        obj.get_type().name()?
    )))
}

/// `omnimesh._message.Message`, the base of the generated classes.
fn message_base(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static BASE: GILOnceCell<PyObject> = GILOnceCell::new();
    BASE.get_or_try_init(py, || {
        py.import_bound("omnimesh._message")?
            .getattr("Message")
            .map(Bound::unbind)
    })
    .map(|base| base.bind(py))
}

/// An instance of a generated class: its `FIELDS` name the ROS field and the attribute.
fn message_to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    let fields = obj.getattr("FIELDS")?;
    let fields = fields.downcast::<PyTuple>()?;
    let mut out = Vec::with_capacity(fields.len());
    for entry in fields.iter() {
        let entry = entry.downcast_into::<PyTuple>()?;
        let ros: String = entry.get_item(0)?.extract()?;
        let value = obj.getattr(entry.get_item(1)?.downcast_into::<PyString>()?)?;
        let value = to_value(&value)
            .map_err(|e| MessageError::new_err(format!("{ros}: {}", e.value_bound(obj.py()))))?;
        out.push((ros, value));
    }
    Ok(Value::Struct(out))
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
