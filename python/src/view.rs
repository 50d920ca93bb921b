//! Received messages as Python objects, built where the archive lies: a [`Visitor`] turns
//! the archive walk straight into instances of the generated classes (no intermediate
//! dicts), and arrays of primitives (`uint8[]` images, `float32[]` scans, ...) become
//! read-only memoryviews over the received bytes, kept alive by an [`ArchiveBuffer`]:
//! shared memory itself for `zero_copy` subscriptions, else the one private copy that was
//! verified.

use std::os::raw::{c_int, c_void};

use mesh_core::node::RawSample;
use mesh_core::transport::shm::{ShmFrame, ThreadSafe};
use omni_msgs::dynamic::{is_aligned, DynType, ALIGN};
use omni_msgs::rt::rkyv::util::AlignedVec;
use omni_msgs::rt::visit::{Prims, Visitor};
use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBytes, PyDict, PyList, PyMemoryView, PySlice, PyTuple};

use crate::convert::to_py;
use crate::errors::MessageError;

/// Where a received archive's bytes live.
enum Held {
    /// The verified sample (shared memory, or its private pooled copy).
    Sample(RawSample<ShmFrame<ThreadSafe>>),
    /// An aligned copy, for an archive that did not start on an 8-byte boundary.
    Copy(AlignedVec<ALIGN>),
}

/// The archive bytes of one received message (read-only buffer protocol). Views of the
/// message's arrays point into it and keep it alive.
#[pyclass(unsendable, module = "omnimesh._native")]
pub struct ArchiveBuffer {
    held: Held,
}

impl ArchiveBuffer {
    /// The buffer of a received sample (not decoded).
    pub fn of(sample: RawSample<ShmFrame<ThreadSafe>>) -> Self {
        Self {
            held: Held::Sample(sample),
        }
    }

    /// The archive bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.held {
            Held::Sample(s) => s.payload(),
            Held::Copy(v) => v.as_slice(),
        }
    }
}

#[pymethods]
impl ArchiveBuffer {
    /// Exposes the archive read-only.
    ///
    /// # Safety
    /// Called by CPython with a valid `view`. The bytes it points to belong to this object,
    /// never move or change while it lives (shared memory stays mapped and a private buffer is
    /// never written after verification), and the view holds a reference to it.
    #[allow(unsafe_code)]
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut pyo3::ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let (ptr, len) = {
            let this = slf.borrow();
            let bytes = this.bytes();
            (bytes.as_ptr(), bytes.len())
        };
        let len = isize::try_from(len).map_err(|_| PyBufferError::new_err("archive too large"))?;
        // SAFETY: see above; readonly = 1 makes CPython refuse writable requests.
        let filled = unsafe {
            pyo3::ffi::PyBuffer_FillInfo(view, slf.as_ptr(), ptr as *mut c_void, len, 1, flags)
        };
        if filled == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    #[allow(unsafe_code)]
    unsafe fn __releasebuffer__(&self, _view: *mut pyo3::ffi::Py_buffer) {}

    fn __len__(&self) -> usize {
        self.bytes().len()
    }

    /// Address of the first byte (for tests and diagnostics).
    #[getter]
    fn address(&self) -> usize {
        self.bytes().as_ptr() as usize
    }

    /// Whether the bytes are the transport's shared memory (not a private copy).
    #[getter]
    fn in_place(&self) -> bool {
        matches!(&self.held, Held::Sample(s) if s.in_place())
    }
}

/// The generated class of `type_name`, from `omnimesh._message.message_class` (cached).
fn class_of<'py>(py: Python<'py>, type_name: &str) -> PyResult<Bound<'py, PyAny>> {
    static CLASSES: GILOnceCell<Py<PyDict>> = GILOnceCell::new();
    static LOOKUP: GILOnceCell<PyObject> = GILOnceCell::new();
    let classes = CLASSES
        .get_or_init(py, || PyDict::new_bound(py).unbind())
        .bind(py);
    if let Some(cls) = classes.get_item(type_name)? {
        return Ok(cls);
    }
    let lookup = LOOKUP.get_or_try_init(py, || {
        py.import_bound("omnimesh._message")?
            .getattr("message_class")
            .map(Bound::unbind)
    })?;
    let cls = lookup.bind(py).call1((type_name,))?;
    classes.set_item(type_name, &cls)?;
    Ok(cls)
}

/// What a message becomes.
#[derive(Clone, Copy)]
enum Shape {
    /// Instances of the generated classes.
    Classes,
    /// Dicts of plain values.
    Plain,
}

enum Open<'py> {
    List(Vec<PyObject>),
    Struct(
        Option<Bound<'py, PyAny>>,
        &'static [&'static str],
        Vec<PyObject>,
    ),
}

/// Builds Python objects from an archive walk.
struct Builder<'py> {
    py: Python<'py>,
    shape: Shape,
    /// The archive buffer and its address, to slice array views from.
    source: Option<(Bound<'py, PyAny>, usize)>,
    /// The whole archive as a memoryview, made at the first array (most messages have none).
    base: Option<Bound<'py, PyMemoryView>>,
    stack: Vec<Open<'py>>,
    done: Option<PyObject>,
    error: Option<PyErr>,
}

impl<'py> Builder<'py> {
    fn put(&mut self, value: PyObject) {
        match self.stack.last_mut() {
            Some(Open::List(items) | Open::Struct(_, _, items)) => items.push(value),
            None => self.done = Some(value),
        }
    }

    fn fail(&mut self, e: PyErr) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// A memoryview of `items` inside the archive, cast to their type.
    fn view(&mut self, items: &Prims<'_>) -> PyResult<Option<PyObject>> {
        let Some((source, addr)) = &self.source else {
            return Ok(None);
        };
        if cfg!(target_endian = "big") {
            return Ok(None); // archives are little-endian: native views would be wrong
        }
        let start = items.addr() - addr;
        if self.base.is_none() {
            self.base = Some(PyMemoryView::from_bound(source)?);
        }
        let Some(base) = &self.base else {
            return Ok(None);
        };
        let end = start + items.len() * items.elem_size();
        let slice = PySlice::new_bound(self.py, start as isize, end as isize, 1);
        let mut view = base.get_item(slice)?;
        if items.format() != "B" {
            view = view.call_method1("cast", (items.format(),))?;
        }
        Ok(Some(view.unbind()))
    }
}

impl Visitor for Builder<'_> {
    fn bool(&mut self, v: bool) {
        self.put(v.into_py(self.py));
    }
    fn int(&mut self, v: i64) {
        self.put(v.into_py(self.py));
    }
    fn uint(&mut self, v: u64) {
        self.put(v.into_py(self.py));
    }
    fn float(&mut self, v: f64) {
        self.put(v.into_py(self.py));
    }
    fn string(&mut self, v: &str) {
        self.put(v.into_py(self.py));
    }
    fn prims(&mut self, items: Prims<'_>) {
        match self.view(&items) {
            Ok(Some(view)) => self.put(view),
            Ok(None) => {
                let value = match items {
                    Prims::U8(bytes) => PyBytes::new_bound(self.py, bytes).into_any().unbind(),
                    other => to_py(self.py, &other.to_value()),
                };
                self.put(value);
            }
            Err(e) => {
                self.fail(e);
                self.put(self.py.None());
            }
        }
    }
    fn begin_list(&mut self, len: usize) {
        self.stack.push(Open::List(Vec::with_capacity(len)));
    }
    fn end_list(&mut self) {
        if let Some(Open::List(items)) = self.stack.pop() {
            let list = PyList::new_bound(self.py, items).into_any().unbind();
            self.put(list);
        }
    }
    fn begin_struct(&mut self, type_name: &'static str, fields: &'static [&'static str]) {
        let cls = match self.shape {
            Shape::Plain => None,
            Shape::Classes => match class_of(self.py, type_name) {
                Ok(cls) => Some(cls),
                Err(e) => {
                    self.fail(e);
                    None
                }
            },
        };
        self.stack
            .push(Open::Struct(cls, fields, Vec::with_capacity(fields.len())));
    }
    fn end_struct(&mut self) {
        let Some(Open::Struct(cls, names, values)) = self.stack.pop() else {
            return;
        };
        let built = match cls {
            // Generated classes take their fields positionally, in declaration order.
            Some(cls) => cls
                .call1(PyTuple::new_bound(self.py, values))
                .map(Bound::unbind),
            None => {
                let dict = PyDict::new_bound(self.py);
                names
                    .iter()
                    .zip(values)
                    .try_for_each(|(k, v)| dict.set_item(k, v))
                    .map(|()| dict.into_any().unbind())
            }
        };
        match built {
            Ok(obj) => self.put(obj),
            Err(e) => {
                self.fail(e);
                self.put(self.py.None());
            }
        }
    }
}

fn run(
    py: Python<'_>,
    ty: &DynType,
    bytes: &[u8],
    shape: Shape,
    source: Option<(Bound<'_, PyAny>, usize)>,
) -> PyResult<PyObject> {
    let mut builder = Builder {
        py,
        shape,
        source,
        base: None,
        stack: Vec::new(),
        done: None,
        error: None,
    };
    (ty.visit)(bytes, &mut builder).map_err(MessageError::new_err)?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    builder
        .done
        .ok_or_else(|| MessageError::new_err(format!("{}: empty archive walk", ty.name)))
}

fn aligned_copy(bytes: &[u8]) -> AlignedVec<ALIGN> {
    let mut copy = AlignedVec::with_capacity(bytes.len());
    copy.extend_from_slice(bytes);
    copy
}

/// A received sample as `(message, archive buffer)`: the message is an instance of its
/// generated class, and its arrays of primitives are memoryviews into the buffer.
pub fn message_of(
    py: Python<'_>,
    ty: &DynType,
    sample: RawSample<ShmFrame<ThreadSafe>>,
) -> PyResult<(PyObject, Py<ArchiveBuffer>)> {
    let held = if is_aligned(sample.payload()) {
        Held::Sample(sample)
    } else {
        Held::Copy(aligned_copy(sample.payload()))
    };
    let buffer = Bound::new(py, ArchiveBuffer { held })?;
    let message = {
        let this = buffer.borrow();
        let addr = this.bytes().as_ptr() as usize;
        let source = Some((buffer.as_any().clone(), addr));
        run(py, ty, this.bytes(), Shape::Classes, source)?
    };
    Ok((message, buffer.unbind()))
}

/// Plain values (dicts, lists, bytes) from archive bytes, copied out.
pub fn plain_of(py: Python<'_>, ty: &DynType, archive: &[u8]) -> PyResult<PyObject> {
    if is_aligned(archive) {
        return run(py, ty, archive, Shape::Plain, None);
    }
    run(py, ty, &aligned_copy(archive), Shape::Plain, None)
}
