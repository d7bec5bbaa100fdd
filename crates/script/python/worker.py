"""omnibridge script worker: runs NiFi ExecuteScript (Jython) scripts on CPython 3.

One long-lived process per pool slot. It speaks length-prefixed JSON (4-byte big-endian length,
then a UTF-8 JSON object) over the pipes it was started with, and nothing else ever touches
them: at start-up the protocol descriptors are duplicated and fds 0/1 are pointed at /dev/null and
stderr, so a script's print(), os.write(1, ...) or input() cannot corrupt the protocol. The
engine drains stderr continuously and keeps a bounded amount of it.

Requests:  {"op": "run", "hash", "source"?, "content" | "content_b64" | "content_frame": true,
            "attributes", "properties"}   (with content_frame, a raw frame holding the content
           follows; a reply whose result has "result_data_frame": true is followed by a raw frame
           holding the result data)
           {"op": "check", "hash", "source"}
Replies:   {"status": "ok", "result": {...}, "retire": bool}
           {"status": "need_source"}            (the script is not in this worker's cache)
           {"status": "compile_error", "diagnostic": {...}}
           {"status": "checked", "form": "nifi" | "transform"}

The NiFi API (session, FlowFile, streams) and the Java classes scripts import are emulated here in
pure Python, following NiFi 1.28.1's StandardProcessSession (see shared/spec/nifi-executescript.md).
"""

import ast
import base64
import builtins
import functools
import io
import json
import linecache
import os
import resource
import signal
import struct
import sys
import threading
import time
import traceback
import types
import uuid as _uuid

SCRIPT_FILENAME = "<script>"
SHIM_FILENAME = "<omnibridge nifi shim>"  # how this program's frames appear in tracebacks
MAX_STDOUT = 1 << 20  # captured print output per run, then truncated with a marker
CACHE_SIZE = 256      # compiled scripts kept per worker


# ---------------------------------------------------------------------------------------------
# Java exception hierarchy. Python exceptions that also carry the Java names, so every style of
# handler in legacy scripts (bare except, except Exception, except JavaException) keeps working.
# ---------------------------------------------------------------------------------------------

class Throwable(Exception):
    """java.lang.Throwable."""

    def getMessage(self):
        return str(self.args[0]) if self.args else None

    def getLocalizedMessage(self):
        return self.getMessage()

    def toString(self):
        msg = self.getMessage()
        return type(self).__name__ + (": " + msg if msg else "")

    def printStackTrace(self):
        traceback.print_exception(type(self), self, self.__traceback__)


class JavaException(Throwable):
    """java.lang.Exception."""


class RuntimeException(JavaException):
    pass


class IllegalArgumentException(RuntimeException):
    pass


class IllegalStateException(RuntimeException):
    pass


class NullPointerException(RuntimeException):
    pass


class UnsupportedOperationException(RuntimeException):
    pass


class NumberFormatException(IllegalArgumentException):
    pass


class IOException(JavaException):
    pass


class ProcessException(RuntimeException):
    """org.apache.nifi.processor.exception.ProcessException."""


class FlowFileHandlingException(ProcessException):
    """org.apache.nifi.processor.exception.FlowFileHandlingException."""


# ---------------------------------------------------------------------------------------------
# Charsets, streams, IOUtils
# ---------------------------------------------------------------------------------------------

class Charset(object):
    """java.nio.charset.Charset: a named codec."""

    def __init__(self, name):
        self._name = name

    def name(self):
        return self._name

    def displayName(self):
        return self._name

    def toString(self):
        return self._name

    def __str__(self):
        return self._name

    def __repr__(self):
        return self._name

    def __eq__(self, other):
        return isinstance(other, Charset) and other._name.lower() == self._name.lower()

    def __hash__(self):
        return hash(self._name.lower())

    @staticmethod
    def forName(name):
        return Charset(str(name))

    @staticmethod
    def defaultCharset():
        return Charset("UTF-8")


class StandardCharsets(object):
    """java.nio.charset.StandardCharsets."""
    UTF_8 = Charset("UTF-8")
    US_ASCII = Charset("US-ASCII")
    ISO_8859_1 = Charset("ISO-8859-1")
    UTF_16 = Charset("UTF-16")
    UTF_16BE = Charset("UTF-16BE")
    UTF_16LE = Charset("UTF-16LE")


def _codec(charset):
    if charset is None:
        return "utf-8"
    return str(charset)


def _as_bytes(data, what):
    """What a Java byte sink accepts from a Python script: bytes, bytearray, str (UTF-8),
    a jarray / list of byte values, memoryview."""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, memoryview):
        return data.tobytes()
    if isinstance(data, (list, tuple)):
        return bytes(b & 0xFF for b in data)
    raise TypeError("%s: expected bytes, bytearray or str, got %s" % (what, type(data).__name__))


class InputStream(object):
    """java.io.InputStream over a FlowFile's content (valid only inside the callback)."""

    def __init__(self, data):
        self._buf = io.BytesIO(data)

    def read(self, b=None, off=0, length=None):
        if b is None:  # read() -> one byte as an int, -1 at the end
            c = self._buf.read(1)
            return c[0] if c else -1
        if isinstance(b, int):  # Python-style read(n)
            return self._buf.read(b)
        if length is None:
            length = len(b) - off
        chunk = self._buf.read(length)
        if not chunk and length > 0:
            return -1
        for i, v in enumerate(chunk):
            b[off + i] = v if not isinstance(b, JavaArray) or b.typecode != "b" else (v - 256 if v > 127 else v)
        return len(chunk)

    def readAllBytes(self):
        return self._buf.read()

    def available(self):
        pos = self._buf.tell()
        return len(self._buf.getbuffer()) - pos

    def skip(self, n):
        return len(self._buf.read(n))

    def close(self):
        pass

    # Python file protocol, so json.load(inputStream) and friends work too.
    def readline(self, *args):
        return self._buf.readline(*args)

    def __iter__(self):
        return iter(self._buf)


class OutputStream(object):
    """java.io.OutputStream collecting a FlowFile's new content. Accepts bytes, bytearray, str
    (written as UTF-8), a single int (one byte, as Java's write(int)) and jarray/list of bytes."""

    def __init__(self):
        self._parts = []

    def write(self, data, off=None, length=None):
        if isinstance(data, int) and not isinstance(data, bool):
            self._parts.append(bytes([data & 0xFF]))
            return
        chunk = _as_bytes(data, "outputStream.write()")
        if off is not None:
            chunk = chunk[off:off + (len(chunk) - off if length is None else length)]
        self._parts.append(chunk)

    def flush(self):
        pass

    def close(self):
        pass

    def getvalue(self):
        return b"".join(self._parts)


class IOUtils(object):
    """org.apache.commons.io.IOUtils."""

    @staticmethod
    def toString(stream, charset=None):
        if isinstance(stream, (bytes, bytearray)):
            return bytes(stream).decode(_codec(charset))
        return _read_all(stream).decode(_codec(charset))

    @staticmethod
    def toByteArray(stream):
        return _read_all(stream)

    @staticmethod
    def write(data, stream, charset=None):
        if isinstance(data, str):
            data = data.encode(_codec(charset))
        stream.write(_as_bytes(data, "IOUtils.write()"))

    @staticmethod
    def copy(source, sink):
        data = _read_all(source)
        sink.write(data)
        return len(data)

    @staticmethod
    def readLines(stream, charset=None):
        return IOUtils.toString(stream, charset).splitlines()

    @staticmethod
    def closeQuietly(*streams):
        pass


def _read_all(stream):
    if isinstance(stream, InputStream):
        return stream.readAllBytes()
    data = stream.read()
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data)


class JavaArray(list):
    """A jarray: a fixed-size list of numbers with a Java type code."""

    def __init__(self, items, typecode):
        list.__init__(self, items)
        self.typecode = typecode

    def tostring(self):
        return bytes(b & 0xFF for b in self).decode("latin-1")

    def tobytes(self):
        return bytes(b & 0xFF for b in self)


def _jarray_zeros(n, typecode):
    return JavaArray([0] * n, typecode)


def _jarray_array(seq, typecode):
    return JavaArray(list(seq), typecode)


# ---------------------------------------------------------------------------------------------
# java.lang / java.util basics that Integrator scripts touch
# ---------------------------------------------------------------------------------------------

class String(str):
    """java.lang.String: String(bytes, charset) decodes; otherwise behaves as str."""

    def __new__(cls, value="", charset=None):
        if isinstance(value, (bytes, bytearray, JavaArray)):
            raw = value.tobytes() if isinstance(value, JavaArray) else bytes(value)
            return raw.decode(_codec(charset))
        return str(value)

    @staticmethod
    def valueOf(value):
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    @staticmethod
    def join(sep, items):
        return str(sep).join(str(i) for i in items)

    @staticmethod
    def format(fmt, *args):
        return fmt.replace("%n", "\n") % args


class System(object):
    """java.lang.System."""

    @staticmethod
    def currentTimeMillis():
        return int(time.time() * 1000)

    @staticmethod
    def nanoTime():
        return time.monotonic_ns()

    @staticmethod
    def getProperty(name, default=None):
        return {"line.separator": "\n", "file.encoding": "UTF-8"}.get(name, default)

    @staticmethod
    def getenv(name=None):
        return os.environ.get(name) if name is not None else dict(os.environ)

    @staticmethod
    def lineSeparator():
        return "\n"


class Thread(object):
    """java.lang.Thread (sleep only)."""

    @staticmethod
    def sleep(millis):
        time.sleep(millis / 1000.0)


def _parse_int(s, radix=10):
    try:
        return int(str(s).strip(), radix)
    except (TypeError, ValueError):
        raise NumberFormatException('For input string: "%s"' % (s,))


def _parse_float(s):
    try:
        return float(str(s).strip())
    except (TypeError, ValueError):
        raise NumberFormatException('For input string: "%s"' % (s,))


class Integer(int):
    """java.lang.Integer."""
    MAX_VALUE = 2147483647
    MIN_VALUE = -2147483648
    parseInt = staticmethod(_parse_int)
    valueOf = staticmethod(_parse_int)


class Long(int):
    """java.lang.Long."""
    MAX_VALUE = 9223372036854775807
    MIN_VALUE = -9223372036854775808
    parseLong = staticmethod(_parse_int)
    valueOf = staticmethod(_parse_int)


class Double(float):
    """java.lang.Double."""
    parseDouble = staticmethod(_parse_float)
    valueOf = staticmethod(_parse_float)


class Boolean(object):
    """java.lang.Boolean."""
    TRUE = True
    FALSE = False

    @staticmethod
    def parseBoolean(s):
        return s is not None and str(s).lower() == "true"

    valueOf = parseBoolean


class StringUtil(object):
    """org.python.core.util.StringUtil."""

    @staticmethod
    def fromBytes(data):
        return _as_bytes(data, "StringUtil.fromBytes()").decode("latin-1")

    @staticmethod
    def toBytes(text):
        return text.encode("latin-1")


class UUID(object):
    """java.util.UUID."""

    @staticmethod
    def randomUUID():
        return str(_uuid.uuid4())

    @staticmethod
    def fromString(s):
        return str(_uuid.UUID(s))


class HashMap(dict):
    """java.util.HashMap / LinkedHashMap: a dict with the Map methods scripts call."""

    def put(self, k, v):
        old = self.get(k)
        self[k] = v
        return old

    def containsKey(self, k):
        return k in self

    def keySet(self):
        return list(self.keys())

    def entrySet(self):
        return [_Entry(k, v) for k, v in self.items()]

    def size(self):
        return len(self)

    def isEmpty(self):
        return not self

    def putAll(self, other):
        self.update(other)

    def remove(self, k):
        return self.pop(k, None)


class _Entry(object):
    def __init__(self, k, v):
        self._k, self._v = k, v

    def getKey(self):
        return self._k

    def getValue(self):
        return self._v


class ArrayList(list):
    """java.util.ArrayList."""

    def add(self, *args):
        if len(args) == 2:
            self.insert(args[0], args[1])
        else:
            self.append(args[0])
        return True

    def size(self):
        return len(self)

    def get(self, i):
        return self[i]

    def isEmpty(self):
        return not self

    def contains(self, x):
        return x in self


class Date(object):
    """java.util.Date: milliseconds since the epoch."""

    def __init__(self, millis=None):
        self._millis = int(time.time() * 1000) if millis is None else int(millis)

    def getTime(self):
        return self._millis

    def toString(self):
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(self._millis / 1000.0))

    __str__ = toString


# SimpleDateFormat letters -> strftime, longest first.
_DATE_LETTERS = [("yyyy", "%Y"), ("yy", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"),
                 ("dd", "%d"), ("HH", "%H"), ("hh", "%I"), ("mm", "%M"), ("ss", "%S"),
                 ("EEEE", "%A"), ("EEE", "%a"), ("a", "%p"), ("Z", "%z"), ("XXX", "%z")]


class SimpleDateFormat(object):
    """java.text.SimpleDateFormat for the common patterns (yyyy-MM-dd'T'HH:mm:ss.SSS and the
    like), in UTC unless setTimeZone is given an offset-free zone name it cannot honour."""

    def __init__(self, pattern):
        self._pattern = pattern

    def _strftime(self):
        out, i, p = [], 0, self._pattern
        while i < len(p):
            if p[i] == "'":
                end = p.find("'", i + 1)
                end = len(p) if end < 0 else end
                out.append(p[i + 1:end].replace("%", "%%") or "'")
                i = end + 1
                continue
            if p.startswith("SSS", i):
                out.append("\ue000MS\ue000")
                i += 3
                continue
            for letter, code in _DATE_LETTERS:
                if p.startswith(letter, i):
                    out.append(code)
                    i += len(letter)
                    break
            else:
                out.append(p[i].replace("%", "%%"))
                i += 1
        return "".join(out)

    def format(self, date):
        import datetime
        millis = date.getTime() if isinstance(date, Date) else int(date)
        dt = datetime.datetime.fromtimestamp(millis / 1000.0, datetime.timezone.utc)
        return dt.strftime(self._strftime()).replace("\ue000MS\ue000", "%03d" % (millis % 1000))

    def parse(self, text):
        import datetime
        fmt = self._strftime().replace("\ue000MS\ue000", "%f")
        dt = datetime.datetime.strptime(text, fmt)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        return Date(int(dt.timestamp() * 1000))

    def setTimeZone(self, zone):
        pass  # workers run in UTC


class Base64(object):
    """java.util.Base64 (getEncoder/getDecoder/getUrlEncoder/getUrlDecoder)."""

    class _Encoder(object):
        def __init__(self, url):
            self._url = url

        def encodeToString(self, data):
            raw = _as_bytes(data, "Base64 encoder")
            return (base64.urlsafe_b64encode if self._url else base64.b64encode)(raw).decode("ascii")

        def encode(self, data):
            return self.encodeToString(data).encode("ascii")

    class _Decoder(object):
        def __init__(self, url):
            self._url = url

        def decode(self, data):
            raw = data.encode("ascii") if isinstance(data, str) else bytes(data)
            return (base64.urlsafe_b64decode if self._url else base64.b64decode)(raw)

    @staticmethod
    def getEncoder():
        return Base64._Encoder(False)

    @staticmethod
    def getDecoder():
        return Base64._Decoder(False)

    @staticmethod
    def getUrlEncoder():
        return Base64._Encoder(True)

    @staticmethod
    def getUrlDecoder():
        return Base64._Decoder(True)


class InputStreamReader(object):
    """java.io.InputStreamReader: decodes a stream."""

    def __init__(self, stream, charset=None):
        self._text = io.StringIO(_read_all(stream).decode(_codec(charset)))

    def read(self, *args):
        if args:
            return self._text.read(*args)
        c = self._text.read(1)
        return ord(c) if c else -1

    def close(self):
        pass


class BufferedReader(object):
    """java.io.BufferedReader over an InputStreamReader: readLine() returns None at the end."""

    def __init__(self, reader, size=None):
        self._text = reader._text if isinstance(reader, InputStreamReader) else io.StringIO(str(reader))

    def readLine(self):
        line = self._text.readline()
        if not line:
            return None
        return line[:-1] if line.endswith("\n") else line

    def lines(self):
        return self._text.read().splitlines()

    def read(self):
        c = self._text.read(1)
        return ord(c) if c else -1

    def close(self):
        pass


class Relationship(object):
    """org.apache.nifi.processor.Relationship."""

    def __init__(self, name, description=""):
        self._name = name
        self._description = description

    def getName(self):
        return self._name

    def getDescription(self):
        return self._description

    def __eq__(self, other):
        return isinstance(other, Relationship) and other._name == self._name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return self._name

    __str__ = __repr__


REL_SUCCESS = Relationship("success", "FlowFiles that were successfully processed")
REL_FAILURE = Relationship("failure", "FlowFiles that failed to be processed")


class _CoreAttribute(object):
    def __init__(self, key):
        self._key = key

    def key(self):
        return self._key


class CoreAttributes(object):
    """org.apache.nifi.flowfile.attributes.CoreAttributes."""
    PATH = _CoreAttribute("path")
    ABSOLUTE_PATH = _CoreAttribute("absolute.path")
    FILENAME = _CoreAttribute("filename")
    UUID = _CoreAttribute("uuid")
    MIME_TYPE = _CoreAttribute("mime.type")
    DISCARD_REASON = _CoreAttribute("discard.reason")
    ALTERNATE_IDENTIFIER = _CoreAttribute("alternate.identifier")


# Callback interfaces: scripts subclass these.
class StreamCallback(object):
    """org.apache.nifi.processor.io.StreamCallback: process(self, inputStream, outputStream)."""


class InputStreamCallback(object):
    """org.apache.nifi.processor.io.InputStreamCallback: process(self, inputStream)."""


class OutputStreamCallback(object):
    """org.apache.nifi.processor.io.OutputStreamCallback: process(self, outputStream)."""


def _install_module(name, **members):
    """Registers a shim module (and its parent packages) in sys.modules."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        full = ".".join(parts[:i])
        mod = sys.modules.get(full)
        if mod is None:
            mod = types.ModuleType(full)
            mod.__path__ = []  # a package, so submodules import
            sys.modules[full] = mod
            if i > 1:
                setattr(sys.modules[".".join(parts[:i - 1])], parts[i - 1], mod)
    for key, value in members.items():
        setattr(sys.modules[name], key, value)
        # Jython imports Java classes like modules: `import org.apache.commons.io.IOUtils as IOUtils`.
        if isinstance(value, type):
            sys.modules[name + "." + key] = value


def _install_shims():
    _install_module("org.apache.nifi.processor.io", StreamCallback=StreamCallback,
                    InputStreamCallback=InputStreamCallback,
                    OutputStreamCallback=OutputStreamCallback)
    _install_module("org.apache.nifi.processor", Relationship=Relationship)
    _install_module("org.apache.nifi.processor.exception", ProcessException=ProcessException,
                    FlowFileHandlingException=FlowFileHandlingException)
    _install_module("org.apache.nifi.flowfile.attributes", CoreAttributes=CoreAttributes)
    _install_module("org.apache.nifi.flowfile", FlowFile=FlowFile)
    _install_module("org.apache.commons.io", IOUtils=IOUtils)
    _install_module("org.python.core.util", StringUtil=StringUtil)
    _install_module("java.nio.charset", StandardCharsets=StandardCharsets, Charset=Charset)
    _install_module("java.lang", String=String, System=System, Thread=Thread, Integer=Integer,
                    Long=Long, Double=Double, Boolean=Boolean, Throwable=Throwable,
                    Exception=JavaException, RuntimeException=RuntimeException,
                    IllegalArgumentException=IllegalArgumentException,
                    IllegalStateException=IllegalStateException,
                    NullPointerException=NullPointerException,
                    NumberFormatException=NumberFormatException,
                    UnsupportedOperationException=UnsupportedOperationException)
    _install_module("java.io", IOException=IOException, InputStream=InputStream,
                    OutputStream=OutputStream, InputStreamReader=InputStreamReader,
                    BufferedReader=BufferedReader)
    _install_module("java.util", UUID=UUID, HashMap=HashMap, LinkedHashMap=HashMap,
                    ArrayList=ArrayList, Date=Date, Base64=Base64)
    _install_module("java.text", SimpleDateFormat=SimpleDateFormat)
    _install_module("jarray", zeros=_jarray_zeros, array=_jarray_array)
    _install_py2_modules()


# Python 2 standard modules under their Python 3 names, imported only when a script asks.
PY2_MODULES = {"urllib2": "urllib.request", "urlparse": "urllib.parse", "httplib": "http.client",
               "StringIO": "io", "cStringIO": "io", "Queue": "queue", "ConfigParser": "configparser",
               "cPickle": "pickle", "HTMLParser": "html.parser", "htmlentitydefs": "html.entities"}


class _Py2ModuleFinder(object):
    """Resolves `import urllib2` & co. to the Python 3 module with the same contents."""

    def find_spec(self, name, path=None, target=None):
        if name not in PY2_MODULES:
            return None
        import importlib.machinery
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec):
        import importlib
        return importlib.import_module(PY2_MODULES[spec.name])

    def exec_module(self, module):
        pass


def _install_py2_modules():
    sys.meta_path.append(_Py2ModuleFinder())
    import urllib
    import urllib.parse
    for name in ("urlencode", "quote", "quote_plus", "unquote", "unquote_plus"):
        setattr(urllib, name, getattr(urllib.parse, name))


# ---------------------------------------------------------------------------------------------
# FlowFile and ProcessSession
# ---------------------------------------------------------------------------------------------

class AttributeMap(dict):
    """FlowFile.getAttributes(): an unmodifiable snapshot usable as a dict and as a java.util.Map."""

    def _readonly(self, *args, **kwargs):
        raise UnsupportedOperationException(
            "getAttributes() is a read-only snapshot; use session.putAttribute(flowFile, key, value)")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _readonly
    put = remove = putAll = _readonly

    def containsKey(self, k):
        return k in self

    def keySet(self):
        return list(self.keys())

    def entrySet(self):
        return [_Entry(k, v) for k, v in self.items()]

    def size(self):
        return len(self)

    def isEmpty(self):
        return not self


class FlowFile(object):
    """An immutable snapshot of a FlowFile. Session methods return new snapshots; a stale one
    still reads the old values, as in NiFi."""

    __slots__ = ("_id", "_attrs", "_content", "_penalized", "_entry")

    def __init__(self, ff_id, attrs, content, penalized=False, entry=None):
        self._id = ff_id
        self._attrs = attrs
        self._content = content
        self._penalized = penalized
        self._entry = entry if entry is not None else int(time.time() * 1000)

    def _with(self, attrs=None, content=None, penalized=None):
        return FlowFile(self._id, self._attrs if attrs is None else attrs,
                        self._content if content is None else content,
                        self._penalized if penalized is None else penalized, self._entry)

    def getAttribute(self, name):
        return self._attrs.get(name)

    def getAttributes(self):
        return AttributeMap(self._attrs)

    def getSize(self):
        return len(self._content)

    def getId(self):
        return self._id

    def isPenalized(self):
        return self._penalized

    def getEntryDate(self):
        return self._entry

    getLineageStartDate = getLastQueueDate = getEntryDate

    def __repr__(self):
        return "FlowFile[id=%d,uuid=%s,size=%d]" % (self._id, self._attrs.get("uuid"), len(self._content))

    __str__ = __repr__


class _Record(object):
    __slots__ = ("ff", "original", "from_queue", "relationship", "removed")

    def __init__(self, ff, from_queue):
        self.ff = ff
        self.original = ff
        self.from_queue = from_queue
        self.relationship = None  # a Relationship, or "queue" for transfer(ff) back to the input
        self.removed = False


def _attr_value(method, key, value):
    """Attribute values are strings, as in NiFi. bytes are decoded as UTF-8 (in Jython
    s.encode('utf-8') is still a str, so that is what the author meant); anything else is an
    error, exactly as Jython rejects a Python int for a java.lang.String parameter."""
    if key is None or value is None:
        raise NullPointerException("session.%s(): attribute %s must not be None"
                                   % (method, "key" if key is None else repr(key) + "'s value"))
    if not isinstance(key, str):
        raise TypeError("session.%s(): attribute keys must be strings, got %s %r"
                        % (method, type(key).__name__, key))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError("session.%s(): attribute %r must be a string (NiFi attributes are text), got %s %r;"
                    " convert it, e.g. str(value)" % (method, key, type(value).__name__, value))


class Session(object):
    """org.apache.nifi.processor.ProcessSession for one run."""

    def __init__(self, queue):
        self._queue = queue          # input FlowFiles not yet taken
        self._records = {}           # id -> _Record, for FlowFiles in this session
        self._committed = []         # (FlowFile, relationship name) in transfer order
        self._gone = {}              # id -> why it left the session (committed/removed)
        self._next_id = 1 + max([ff._id for ff in queue] or [0])
        self._in_callback = False
        self.took_input = False
        self.removed_input = False
        self.rolled_back = False

    # -- obtaining FlowFiles ------------------------------------------------------------------
    def get(self, n=None):
        if n is None:
            if not self._queue:
                return None
            ff = self._queue.pop(0)
            self._records[ff._id] = _Record(ff, True)
            self.took_input = True
            return ff
        if isinstance(n, int):
            out = ArrayList()
            while self._queue and len(out) < n:
                out.append(self.get())
            return out
        if hasattr(n, "filter"):  # FlowFileFilter: accept everything it accepts
            out = ArrayList()
            for ff in list(self._queue):
                if n.filter(ff):
                    self._queue.remove(ff)
                    self._records[ff._id] = _Record(ff, True)
                    self.took_input = True
                    out.append(ff)
            return out
        raise TypeError("session.get(): expected nothing, a count or a FlowFileFilter, got %r" % (n,))

    def _new_id(self):
        i = self._next_id
        self._next_id += 1
        return i

    def create(self, parent=None):
        new_uuid = str(_uuid.uuid4())
        attrs = {}
        parents = parent if isinstance(parent, (list, tuple)) else ([parent] if parent is not None else [])
        for p in parents:
            for k, v in self._current(p, "create").ff._attrs.items():
                if k not in ("uuid", "alternate.identifier", "discard.reason"):
                    attrs[k] = v
        attrs.setdefault("filename", new_uuid)
        attrs.setdefault("path", "./")
        attrs["uuid"] = new_uuid
        ff = FlowFile(self._new_id(), attrs, b"")
        self._records[ff._id] = _Record(ff, False)
        return ff

    def clone(self, ff, offset=0, size=None):
        rec = self._current(ff, "clone")
        content = rec.ff._content
        content = content[offset:] if size is None else content[offset:offset + size]
        attrs = dict(rec.ff._attrs)
        attrs["uuid"] = str(_uuid.uuid4())
        new = FlowFile(self._new_id(), attrs, content)
        self._records[new._id] = _Record(new, False)
        return new

    def _current(self, ff, method):
        if not isinstance(ff, FlowFile):
            raise TypeError("session.%s(): expected a FlowFile, got %s %r" % (method, type(ff).__name__, ff))
        rec = self._records.get(ff._id)
        if rec is None:
            why = self._gone.get(ff._id, "is not known in this session")
            raise FlowFileHandlingException("session.%s(): %r %s" % (method, ff, why))
        if rec.removed:
            raise FlowFileHandlingException("session.%s(): %r was already removed" % (method, ff))
        if rec.relationship is not None:
            raise FlowFileHandlingException("session.%s(): %r is already marked for transfer" % (method, ff))
        return rec

    def _check_not_in_callback(self, method):
        if self._in_callback:
            raise IllegalStateException("session.%s() cannot be called inside a read/write callback" % method)

    # -- attributes -------------------------------------------------------------------------
    def putAttribute(self, ff, key, value):
        rec = self._current(ff, "putAttribute")
        value = _attr_value("putAttribute", key, value)
        if key == "uuid":
            return rec.ff
        attrs = dict(rec.ff._attrs)
        attrs[key] = value
        rec.ff = rec.ff._with(attrs=attrs)
        return rec.ff

    def putAllAttributes(self, ff, attributes):
        rec = self._current(ff, "putAllAttributes")
        attrs = dict(rec.ff._attrs)
        for key, value in dict(attributes).items():
            value = _attr_value("putAllAttributes", key, value)
            if key != "uuid":
                attrs[key] = value
        rec.ff = rec.ff._with(attrs=attrs)
        return rec.ff

    def removeAttribute(self, ff, key):
        rec = self._current(ff, "removeAttribute")
        if key == "uuid" or key not in rec.ff._attrs:
            return rec.ff
        attrs = dict(rec.ff._attrs)
        del attrs[key]
        rec.ff = rec.ff._with(attrs=attrs)
        return rec.ff

    def removeAllAttributes(self, ff, keys):
        rec = self._current(ff, "removeAllAttributes")
        attrs = dict(rec.ff._attrs)
        if hasattr(keys, "match"):  # a compiled regex, standing in for java.util.regex.Pattern
            doomed = [k for k in attrs if keys.match(k)]
        else:
            doomed = list(keys)
        for k in doomed:
            if k != "uuid":
                attrs.pop(k, None)
        rec.ff = rec.ff._with(attrs=attrs)
        return rec.ff

    # -- content ----------------------------------------------------------------------------
    def _callback(self, cb, *args):
        process = getattr(cb, "process", None)
        if process is None:
            if callable(cb):  # Jython coerces a Python callable to a one-method interface
                process = cb
            else:
                raise TypeError("expected a StreamCallback/InputStreamCallback/OutputStreamCallback, got %r" % (cb,))
        self._in_callback = True
        try:
            process(*args)
        finally:
            self._in_callback = False

    def write(self, ff, callback):
        self._check_not_in_callback("write")
        rec = self._current(ff, "write")
        out = OutputStream()
        if isinstance(callback, OutputStreamCallback) and not isinstance(callback, StreamCallback):
            self._callback(callback, out)
        elif isinstance(callback, StreamCallback) or _arity(callback) >= 2:
            self._callback(callback, InputStream(rec.ff._content), out)
        else:
            self._callback(callback, out)
        rec.ff = rec.ff._with(content=out.getvalue())
        return rec.ff

    def append(self, ff, callback):
        self._check_not_in_callback("append")
        rec = self._current(ff, "append")
        out = OutputStream()
        self._callback(callback, out)
        rec.ff = rec.ff._with(content=rec.ff._content + out.getvalue())
        return rec.ff

    def read(self, ff, *args):
        rec = self._current(ff, "read")
        if not args or isinstance(args[0], bool):
            return InputStream(rec.ff._content)  # read(ff): the stream itself
        self._callback(args[-1], InputStream(rec.ff._content))
        return None

    # -- routing ----------------------------------------------------------------------------
    def transfer(self, ff, relationship=None):
        if isinstance(ff, (list, tuple)):
            for f in ff:
                self.transfer(f, relationship)
            return
        self._check_not_in_callback("transfer")
        rec = self._current(ff, "transfer")
        if relationship is None:
            if not rec.from_queue:
                raise IllegalArgumentException(
                    "session.transfer(%r): a FlowFile created in this session needs a relationship" % (ff,))
            rec.relationship = "queue"
            return
        if not isinstance(relationship, Relationship):
            raise TypeError("session.transfer(): the relationship must be REL_SUCCESS or REL_FAILURE, got %r"
                            % (relationship,))
        if relationship.getName() not in ("success", "failure"):
            raise IllegalArgumentException("session.transfer(): unknown relationship %r; this processor has"
                                           " success and failure" % relationship.getName())
        rec.relationship = relationship

    def remove(self, ff):
        if isinstance(ff, (list, tuple)):
            for f in ff:
                self.remove(f)
            return
        self._check_not_in_callback("remove")
        rec = self._current(ff, "remove")
        rec.removed = True

    def penalize(self, ff):
        rec = self._current(ff, "penalize")
        rec.ff = rec.ff._with(penalized=True)
        return rec.ff

    def commit(self):
        self._check_not_in_callback("commit")
        for rec in self._records.values():
            if rec.relationship is None and not rec.removed:
                raise FlowFileHandlingException("%r transfer relationship not specified: every FlowFile taken"
                                                " or created must be transferred or removed before commit"
                                                % (rec.ff,))
        for fid, rec in self._records.items():
            if rec.removed:
                self._gone[fid] = "was removed and committed"
                if rec.from_queue:
                    self.removed_input = True
            elif rec.relationship == "queue":
                self._queue.append(rec.ff)
            else:
                self._committed.append((rec.ff, rec.relationship.getName(), rec.from_queue))
                self._gone[fid] = "was already transferred and committed"
        self._records = {}

    commitAsync = commit

    def rollback(self, penalize=False):
        self._check_not_in_callback("rollback")
        returned = [rec.original._with(penalized=bool(penalize) or None)
                    for rec in self._records.values() if rec.from_queue]
        self._queue[0:0] = returned
        self._records = {}
        self.rolled_back = True

    def adjustCounter(self, name, delta, immediate=False):
        pass  # counters have no meaning outside NiFi

    def getProvenanceReporter(self):
        return _NoProvenance()


class _NoProvenance(object):
    """Provenance is not recorded: every reporter method is accepted and ignored."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _arity(fn):
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if code is None:
        process = getattr(fn, "process", None)
        code = getattr(getattr(process, "__func__", process), "__code__", None)
        bound = process is not None and hasattr(process, "__self__")
    else:
        bound = hasattr(fn, "__self__")
    if code is None:
        return 1
    return code.co_argcount - (1 if bound else 0)


# ---------------------------------------------------------------------------------------------
# log and context
# ---------------------------------------------------------------------------------------------

class Log(object):
    """ComponentLog: messages come back with the result (the row log). '{}' placeholders are
    filled SLF4J-style; a trailing exception argument is appended."""

    def __init__(self):
        self.entries = []

    def _log(self, level, msg, *args):
        text = str(msg)
        args = list(args)
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = list(args[0])
        err = args.pop() if args and isinstance(args[-1], BaseException) else None
        for a in args:
            if "{}" not in text:
                break
            text = text.replace("{}", str(a), 1)
        if err is not None:
            text += ": " + "".join(traceback.format_exception_only(type(err), err)).strip()
        self.entries.append({"level": level, "message": text})

    def info(self, msg, *args):
        self._log("info", msg, *args)

    def warn(self, msg, *args):
        self._log("warn", msg, *args)

    warning = warn

    def error(self, msg, *args):
        self._log("error", msg, *args)

    def debug(self, msg, *args):
        self._log("debug", msg, *args)

    def trace(self, msg, *args):
        self._log("trace", msg, *args)

    def isDebugEnabled(self):
        return True

    isInfoEnabled = isWarnEnabled = isErrorEnabled = isTraceEnabled = isDebugEnabled


class PropertyValue(object):
    """PropertyValue. Expression Language is evaluated by the engine before the run, so
    evaluateAttributeExpressions() returns the value as given."""

    def __init__(self, value):
        self._value = value

    def getValue(self):
        return self._value

    def evaluateAttributeExpressions(self, *args):
        return self

    def isSet(self):
        return self._value is not None

    def asInteger(self):
        return None if self._value is None else _parse_int(self._value)

    def asBoolean(self):
        return None if self._value is None else self._value.strip().lower() == "true"

    def __str__(self):
        return "" if self._value is None else self._value


class Context(object):
    """ProcessContext with the step's properties."""

    def __init__(self, properties):
        self._properties = properties

    def getProperty(self, name):
        return PropertyValue(self._properties.get(getattr(name, "getName", lambda: name)()))

    def getProperties(self):
        return dict(self._properties)

    def getName(self):
        return self._properties.get("name", "ExecuteScript")


class _Capture(io.TextIOBase):
    """What the script prints; capped so a runaway print loop cannot exhaust memory."""

    def __init__(self):
        self.parts = []
        self.size = 0
        self.truncated = False

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if self.size < MAX_STDOUT:
            self.parts.append(s[:MAX_STDOUT - self.size])
            self.size += len(s)
            if self.size > MAX_STDOUT:
                self.truncated = True
        else:
            self.truncated = True
        return len(s)

    def writable(self):
        return True

    def text(self):
        out = "".join(self.parts)
        return out + ("\n[output truncated at %d characters]" % MAX_STDOUT if self.truncated else "")


# ---------------------------------------------------------------------------------------------
# Compiling and running
# ---------------------------------------------------------------------------------------------

class Compiled(object):
    __slots__ = ("code", "form", "lines")

    def __init__(self, code, form, lines):
        self.code, self.form, self.lines = code, form, lines


def _compile(source):
    """Compiles a script once; returns Compiled or raises SyntaxError. The form is "transform"
    when the module defines transform() at top level and never mentions session."""
    tree = compile(source, SCRIPT_FILENAME, "exec", ast.PyCF_ONLY_AST)
    code = compile(tree, SCRIPT_FILENAME, "exec")
    defines_transform = any(isinstance(n, ast.FunctionDef) and n.name == "transform" for n in tree.body)
    uses_session = any(isinstance(n, ast.Name) and n.id == "session" for n in ast.walk(tree))
    form = "transform" if defines_transform and not uses_session else "nifi"
    lines = source.splitlines(True)
    return Compiled(code, form, (len(source), None, lines, SCRIPT_FILENAME))


def _diagnostic(err):
    text = err.text.rstrip("\n") if isinstance(getattr(err, "text", None), str) else None
    return {"line": err.lineno, "column": err.offset, "message": err.msg or str(err), "text": text}


# Python 2 builtins that have a Python 3 equivalent with the meaning the author had: provided so
# legacy scripts run unchanged (`omnibridge script migrate` rewrites them anyway).
PY2_ALIASES = {"unicode": str, "basestring": str, "long": int, "xrange": range, "unichr": chr,
               "reduce": functools.reduce, "raw_input": input}

PY2_ATTRIBUTE_HINTS = {
    "iteritems": "use .items()", "iterkeys": "use .keys()", "itervalues": "use .values()",
    "has_key": "use `key in d`", "maxint": "use sys.maxsize",
}


def _format_traceback(exc):
    """The traceback from the script's first frame on: the worker's own frames are noise."""
    tbe = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    frames = tbe.stack
    for i, frame in enumerate(frames):
        if frame.filename == SCRIPT_FILENAME:
            kept = [f for f in frames[i:] if f.filename != SHIM_FILENAME]
            tbe.stack = traceback.StackSummary.from_list(kept)
            break
    text = "".join(tbe.format())
    if isinstance(exc, AttributeError):
        name = getattr(exc, "name", None)
        if name in PY2_ATTRIBUTE_HINTS:
            text += "Python 2 idiom: .%s does not exist in Python 3; %s (or run `omnibridge script migrate`)\n" % (
                name, PY2_ATTRIBUTE_HINTS[name])
    return text


def _decode_content(req):
    if req.get("_content_raw") is not None:
        return req["_content_raw"]
    if req.get("content_b64") is not None:
        return base64.b64decode(req["content_b64"])
    return (req.get("content") or "").encode("utf-8")


def _encode_content(data, out, key, raw=False):
    if raw:
        # The engine sent the content as a raw frame, so it takes the result the same way:
        # _send writes it as the frame after the reply.
        out["_result_raw"] = bytes(data)
        out[key + "_frame"] = True
        return
    try:
        out[key] = data.decode("utf-8")
    except UnicodeDecodeError:
        out[key + "_b64"] = base64.b64encode(data).decode("ascii")


def _validated_attributes(attrs):
    clean = {}
    for k, v in attrs.items():
        clean[k] = _attr_value("transform", k, v)
    return clean


def _run_transform(g, content, attributes):
    """Native form: transform(data, attributes) -> new data; data is the content parsed as JSON
    when it is JSON, else its text (or bytes when it is not UTF-8)."""
    try:
        text = content.decode("utf-8")
        try:
            data = json.loads(text)
        except ValueError:
            data = text
    except UnicodeDecodeError:
        data = content
    attrs = dict(attributes)
    new = g["transform"](data, attrs)
    if new is None:
        raise TypeError("transform() returned None: return the new data (a JSON value, str or bytes)")
    if isinstance(new, (bytes, bytearray)):
        out = bytes(new)
    elif isinstance(new, str):
        out = new.encode("utf-8")
    else:
        out = json.dumps(new, ensure_ascii=False).encode("utf-8")
    return out, _validated_attributes(attrs)


class Worker(object):
    def __init__(self, memory_limit):
        self.cache = {}
        self.memory_limit = memory_limit
        self.base_globals = {"__builtins__": builtins, "sys": sys, "REL_SUCCESS": REL_SUCCESS,
                             "REL_FAILURE": REL_FAILURE}
        self.base_globals.update(PY2_ALIASES)

    def compiled(self, req):
        h = req["hash"]
        c = self.cache.pop(h, None)  # re-inserted below: the dict's order is the LRU order
        if c is None:
            source = req.get("source")
            if source is None:
                return None
            c = _compile(source)
            if len(self.cache) >= CACHE_SIZE:
                self.cache.pop(next(iter(self.cache)))
        self.cache[h] = c
        return c

    def check(self, req):
        try:
            c = _compile(req["source"])
        except SyntaxError as err:
            return {"status": "compile_error", "diagnostic": _diagnostic(err)}
        return {"status": "checked", "form": c.form}

    def run(self, req):
        try:
            c = self.compiled(req)
        except SyntaxError as err:
            return {"status": "compile_error", "diagnostic": _diagnostic(err)}
        if c is None:
            return {"status": "need_source"}
        content = _decode_content(req)
        raw = bool(req.get("content_frame"))
        attributes = req.get("attributes") or {}
        properties = req.get("properties") or {}
        linecache.cache[SCRIPT_FILENAME] = c.lines

        first = FlowFile(1, dict(attributes), content)
        session = Session([first])
        log = Log()
        g = dict(self.base_globals)
        g["__name__"] = "__main__"
        g["session"] = session
        g["log"] = log
        g["context"] = Context(properties)
        for name, value in properties.items():
            if name.isidentifier() and name not in g:
                g[name] = PropertyValue(value)

        capture = _Capture()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = capture
        result = {"relationship": None, "error": None, "attributes": dict(attributes), "extra_outputs": []}
        retire = False
        try:
            exec(c.code, g)
            if c.form == "transform":
                data, attrs = _run_transform(g, content, attributes)
                _encode_content(data, result, "result_data", raw)
                result["attributes"] = attrs
                result["relationship"] = "success"
            else:
                session.commit()  # the framework's commit at the end of onTrigger
        except MemoryError:
            session.rollback()
            result["error"] = "MemoryError: the script exceeded the worker's memory limit (%d MiB)" % (
                self.memory_limit >> 20) if self.memory_limit else "MemoryError: out of memory"
            result["memory_exceeded"] = True
            retire = True
        except SystemExit as exc:
            session.rollback()
            result["error"] = "the script called sys.exit(%s); nothing it did was kept" % (
                "" if exc.code is None else repr(exc.code))
        except BaseException as exc:  # everything the script raises is its failure, not ours
            session.rollback()
            result["error"] = _format_traceback(exc)
        finally:
            sys.stdout, sys.stderr = saved

        if c.form == "nifi":
            _collect_outputs(session, result, first._id, raw)
        result["stdout"] = capture.text()
        result["logs"] = log.entries
        result["form"] = c.form
        if self.memory_limit and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 > self.memory_limit * 0.8:
            retire = True  # memory is fragmented near the cap: start the next run on a fresh worker
        return {"status": "ok", "result": result, "retire": retire}


def _collect_outputs(session, result, input_id, raw=False):
    outputs = session._committed
    primary = next((o for o in outputs if o[2]), outputs[0] if outputs else None)
    if primary is not None:
        ff, rel, _ = primary
        _encode_content(ff._content, result, "result_data", raw)
        result["attributes"] = dict(ff._attrs)
        result["relationship"] = rel
        for other in outputs:
            if other is not primary:
                extra = {"attributes": dict(other[0]._attrs), "relationship": other[1]}
                _encode_content(other[0]._content, extra, "content")
                result["extra_outputs"].append(extra)
    elif result["error"] is None:
        if not session.took_input:
            result["error"] = "the script never called session.get(), so the FlowFile was not processed"
        elif session.removed_input:
            result["error"] = "the script removed the FlowFile (session.remove) and transferred nothing"
        elif session.rolled_back:
            result["error"] = "the script rolled the session back (session.rollback) and transferred nothing"
        else:
            result["error"] = "the script never transferred the FlowFile to REL_SUCCESS or REL_FAILURE"


# ---------------------------------------------------------------------------------------------
# Isolation: what a script may see and touch. Set up before any script runs, with what the
# kernel offers without root where possible (see PoolConfig::isolation on the engine side).
#
#   engine ── outer (this process as started; waits, relays the exit status)
#                └─ init (PID 1 of a new PID namespace; reaps, and its death kills everything)
#                     └─ worker (PID 2; runs the scripts, in a private root, as an unprivileged
#                               user, with no_new_privs and Landlock)
#
# The worker is not PID 1 because the kernel drops default-action signals a namespace's init
# sends itself (os.kill(os.getpid(), SIGSEGV) must still kill it), and because init must reap
# whatever scripts leave behind.
# ---------------------------------------------------------------------------------------------

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446

# Landlock filesystem rights (linux/landlock.h).
LL_EXECUTE, LL_WRITE_FILE, LL_READ_FILE, LL_READ_DIR = 1, 2, 4, 8
LL_TRUNCATE, LL_IOCTL_DEV = 1 << 14, 1 << 15
LL_READ = LL_EXECUTE | LL_READ_FILE | LL_READ_DIR

# What Python and a script calling a CRM over HTTPS need from /etc; nothing else of it is visible.
ETC_ENTRIES = ["resolv.conf", "hosts", "host.conf", "nsswitch.conf", "gai.conf", "services",
               "protocols", "localtime", "timezone", "ssl", "ca-certificates", "pki",
               "crypto-policies", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "mime.types",
               "passwd", "group", "os-release", "alternatives"]
SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
DEVICES = ["null", "zero", "full", "random", "urandom", "tty"]

# The protections the "enforce" mode refuses to run without (Landlock is added when the kernel
# has it: behind the private root it is a second wall, not the first).
REQUIRED = ("pid namespace", "mount namespace", "unprivileged user", "no_new_privs")


class _IsolationFailed(Exception):
    pass


class _Libc(object):
    def __init__(self):
        import ctypes
        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.syscall.restype = ctypes.c_long

    def _check(self, rc, what):
        if rc < 0:
            err = self.ctypes.get_errno()
            raise OSError(err, "%s: %s" % (what, os.strerror(err)))
        return rc

    def unshare(self, flags):
        self._check(self.libc.unshare(self.ctypes.c_int(flags)), "unshare")

    def mount(self, source, target, fstype, flags, data=None):
        enc = lambda s: None if s is None else os.fsencode(s)
        self._check(self.libc.mount(enc(source), enc(target), enc(fstype),
                                    self.ctypes.c_ulong(flags), enc(data)),
                    "mount %s on %s" % (source, target))

    def umount2(self, target, flags):
        self._check(self.libc.umount2(os.fsencode(target), self.ctypes.c_int(flags)), "umount " + target)

    def prctl(self, option, arg):
        c = self.ctypes.c_ulong
        self._check(self.libc.prctl(self.ctypes.c_int(option), c(arg), c(0), c(0), c(0)), "prctl")

    def syscall(self, number, *args, what="syscall"):
        return self._check(self.libc.syscall(self.ctypes.c_long(number), *args), what)

    def pivot_root(self, new_root, put_old):
        import platform
        number = SYS_PIVOT_ROOT.get(platform.machine())
        if number is None:
            raise OSError(0, "pivot_root: unknown system call number on %s" % platform.machine())
        self.syscall(number, self.ctypes.c_char_p(os.fsencode(new_root)),
                     self.ctypes.c_char_p(os.fsencode(put_old)), what="pivot_root")

    def drop_capabilities(self):
        """Clears every capability (those a user namespace grants its creator)."""
        ct = self.ctypes
        header = (ct.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
        data = (ct.c_uint32 * 6)()
        self._check(self.libc.capset(header, data), "capset")


def _write_file(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _python_paths():
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    for entry in sys.path:
        if entry and os.path.exists(entry):
            paths.add(os.path.realpath(entry))
    return sorted(p for p in paths if p)


def _plan(cfg):
    """(source, target, writable) for everything the private root shows."""
    ro = [p for p in SYSTEM_DIRS] + ["/etc/" + e for e in ETC_ENTRIES]
    ro += ["/etc/" + e for e in os.listdir("/etc") if e.startswith("python3")]
    ro += _python_paths() + list(cfg.get("read_only", []))
    entries = [(p, p, False) for p in ro]
    entries += [(p, p, True) for p in cfg.get("read_write", [])]
    entries.append((cfg["temp_dir"], "/tmp", True))
    return entries


def _depth(path):
    return len([p for p in path.split("/") if p])


def _covered(target, writable, bound):
    for other, other_writable in bound.items():
        if (target == other or target.startswith(other.rstrip("/") + "/")) and (other_writable or not writable):
            return True
    return False


def _locked_flags(fd):
    """Mount flags of the mount holding fd that a remount must keep (the kernel refuses to
    clear read-only/nosuid/nodev/noexec/atime flags that a user namespace inherited)."""
    try:
        flags = os.fstatvfs(fd).f_flag
    except OSError:
        return 0
    keep = 0
    for st, ms in ((os.ST_RDONLY, MS_RDONLY), (os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
                   (getattr(os, "ST_NOATIME", 1024), MS_NOATIME),
                   (getattr(os, "ST_NODIRATIME", 2048), MS_NODIRATIME),
                   (getattr(os, "ST_RELATIME", 4096), MS_RELATIME)):
        if flags & st:
            keep |= ms
    return keep


def _build_root(libc, cfg, with_proc):
    """Makes a private root holding only the planned paths (read-only unless planned writable),
    devices, a fresh /proc (showing only this PID namespace) and the private temp dir at /tmp,
    and pivots into it. The engine's files, store, keys and /proc are simply not there."""
    libc.mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host
    # Open every source first: the new root is mounted over /tmp, which may hold some of them.
    opened = []
    for source, target, writable in _plan(cfg):
        if os.path.islink(source) and source == target:
            opened.append((None, source, target, False, os.readlink(source)))
            real = os.path.realpath(source)
            if os.path.exists(real):
                opened.append((os.open(real, os.O_PATH | os.O_CLOEXEC), real, real, False, None))
            continue
        try:
            fd = os.open(source, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            if source in cfg.get("read_only", []) or source in cfg.get("read_write", []):
                sys.stderr.write("omnibridge: isolation: extra path %s is missing, skipped\n" % source)
            continue
        opened.append((fd, source, target, writable, None))
    root = "/tmp"
    libc.mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m")
    try:
        bound = {}
        opened.sort(key=lambda e: (_depth(e[2]), e[2]))
        for fd, source, target, writable, link in opened:
            where = root + target
            if link is not None:
                if not os.path.lexists(where):
                    os.makedirs(os.path.dirname(where), 0o755, exist_ok=True)
                    os.symlink(link, where)
                continue
            if _covered(target, writable, bound):
                os.close(fd)
                continue
            is_dir = stat_is_dir(fd)
            if is_dir:
                os.makedirs(where, 0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(where), 0o755, exist_ok=True)
                if not os.path.exists(where):
                    os.close(os.open(where, os.O_CREAT | os.O_WRONLY, 0o644))
            libc.mount("/proc/self/fd/%d" % fd, where, None, MS_BIND | MS_REC)
            flags = MS_BIND | MS_REMOUNT | MS_NOSUID | _locked_flags(fd)
            libc.mount(None, where, None, flags | (0 if writable else MS_RDONLY))
            os.close(fd)
            if is_dir and source == target:  # the private temp (at /tmp) covers nothing
                bound[target] = writable
        dev = root + "/dev"
        os.makedirs(dev, 0o755, exist_ok=True)
        libc.mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
        for name in DEVICES:
            if os.path.exists("/dev/" + name):
                os.close(os.open(dev + "/" + name, os.O_CREAT | os.O_WRONLY, 0o666))
                libc.mount("/dev/" + name, dev + "/" + name, None, MS_BIND)
        for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                           ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(link, dev + "/" + name)
        os.mkdir(dev + "/shm")
        libc.mount("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=16m")
        if with_proc:
            os.makedirs(root + "/proc", 0o555, exist_ok=True)
            libc.mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        os.chdir(root)
        os.mkdir(".oldroot")
        libc.pivot_root(".", ".oldroot")
        os.chdir("/")
        libc.umount2("/.oldroot", MNT_DETACH)
        os.rmdir("/.oldroot")
        libc.mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    except BaseException:
        try:
            os.chdir("/")
            libc.umount2(root, MNT_DETACH)
        except OSError:
            pass
        raise


def stat_is_dir(fd):
    import stat
    return stat.S_ISDIR(os.fstat(fd).st_mode)


def _landlock(libc, rules):
    """Restricts this process and its children to `rules` [(path, rights)]; returns the ABI."""
    ct = libc.ctypes
    abi = libc.libc.syscall(ct.c_long(SYS_LANDLOCK_CREATE_RULESET), None, ct.c_size_t(0), ct.c_uint32(1))
    if abi < 0:
        err = ct.get_errno()
        raise OSError(err, "the kernel does not offer it (%s)" % os.strerror(err))
    handled = (1 << 13) - 1               # ABI 1: execute .. make_sym
    if abi >= 2:
        handled |= 1 << 13                # refer
    if abi >= 3:
        handled |= LL_TRUNCATE
    if abi >= 5:
        handled |= LL_IOCTL_DEV
    file_rights = LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV
    if abi >= 6:
        # Signals and abstract unix sockets stop at the sandbox (scope: abstract socket, signal).
        attr = struct.pack("=QQQ", handled, 0, 1 | 2)
    elif abi >= 4:
        attr = struct.pack("=QQ", handled, 0)
    else:
        attr = struct.pack("=Q", handled)
    buf = ct.create_string_buffer(attr, len(attr))
    ruleset = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, buf, ct.c_size_t(len(attr)), ct.c_uint32(0),
                           what="landlock_create_ruleset")
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                rights &= handled if stat_is_dir(fd) else (handled & file_rights)
                rule = ct.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
                libc.syscall(SYS_LANDLOCK_ADD_RULE, ct.c_int(ruleset), ct.c_int(1), rule, ct.c_uint32(0),
                             what="landlock_add_rule " + path)
            finally:
                os.close(fd)
        libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ct.c_int(ruleset), ct.c_uint32(0),
                     what="landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi


def _relay(child, status_r):
    """The outer process: waits for init, then ends the way the worker ended (a SIGSEGV in a
    script must still read as one), so the engine can explain the death."""
    # No thread here: a process that unshared a PID namespace cannot start one. A timer signal
    # interrupts the wait instead, to notice the engine's death (waitpid resumes by itself).
    parent = os.getppid()

    def check_parent(signum, frame):
        if os.getppid() != parent:
            try:
                os.killpg(os.getpgid(0), signal.SIGKILL)
            finally:
                os._exit(1)

    signal.signal(signal.SIGALRM, check_parent)
    signal.setitimer(signal.ITIMER_REAL, 0.5, 0.5)
    _, status = os.waitpid(child, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    data = os.read(status_r, 4)
    if len(data) == 4:
        (status,) = struct.unpack("=i", data)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), sig)
        time.sleep(1)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _reap(worker_pid, status_w):
    """PID 1 of the namespace: reaps orphans; when the worker ends, so does init, and the
    kernel kills every process left in the namespace, setsid() or not."""
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == worker_pid:
            try:
                os.write(status_w, struct.pack("=i", status))
            finally:
                os._exit(0)


def _isolate(cfg, protocol_fds):
    """Sets up the sandbox; returns, in the process that will run scripts, what is enforced."""
    mode = cfg.get("mode", "off")
    report = {"mode": mode, "pid_namespace": False, "mount_namespace": False,
              "user_namespace": False, "uid": os.geteuid(), "no_new_privs": False,
              "landlock_abi": None, "not_enforced": []}
    if mode == "off":
        report["not_enforced"].append("everything: isolation is off (debugging only)")
        return report
    enforce = mode == "enforce"

    def missing(what, why):
        if enforce and what in REQUIRED:
            raise _IsolationFailed("cannot enforce the %s: %s" % (what, why))
        report["not_enforced"].append("%s: %s" % (what, why))

    try:
        libc = _Libc()
    except Exception as exc:  # no ctypes in this Python build
        for what in REQUIRED + ("landlock",):
            missing(what, "ctypes is unavailable (%s)" % exc)
        return report

    # 1. Namespaces: as root, mount + PID namespaces directly (then drop to an unprivileged
    #    user); otherwise inside a new user namespace mapping only our own uid.
    is_root = os.geteuid() == 0
    uid, gid = os.geteuid(), os.getegid()
    errors = []
    for flags, userns in (((CLONE_NEWNS | CLONE_NEWPID), False),
                          ((CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID), True),
                          ((CLONE_NEWUSER | CLONE_NEWNS), True)):
        if not userns and not is_root:
            continue
        try:
            libc.unshare(flags)
        except OSError as exc:
            errors.append(str(exc))
            continue
        if userns:
            _write_file("/proc/self/setgroups", "deny")
            _write_file("/proc/self/uid_map", "%d %d 1" % (uid, uid))
            _write_file("/proc/self/gid_map", "%d %d 1" % (gid, gid))
            report["user_namespace"] = True
        report["pid_namespace"] = bool(flags & CLONE_NEWPID)
        break
    in_mount_ns = report["pid_namespace"] or report["user_namespace"]
    if not report["pid_namespace"]:
        missing("pid namespace", "; ".join(errors) or "unavailable")
    if not in_mount_ns:
        missing("mount namespace", "; ".join(errors) or "unavailable")

    # 2. PID namespace: fork init (PID 1); this process stays outside and relays.
    status_w = None
    if report["pid_namespace"]:
        status_r, status_w = os.pipe()
        child = os.fork()
        if child:
            for fd in protocol_fds + [status_w]:
                os.close(fd)
            _relay(child, status_r)  # never returns
        os.close(status_r)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    # 3. The private root.
    if in_mount_ns:
        try:
            _build_root(libc, cfg, with_proc=report["pid_namespace"])
            report["mount_namespace"] = True
        except OSError as exc:
            missing("mount namespace", "building the private root failed: %s" % exc)
    temp = "/tmp" if report["mount_namespace"] else cfg["temp_dir"]
    os.environ["HOME"] = os.environ["TMPDIR"] = temp
    os.chdir(temp)

    # 4. An unprivileged user.
    if is_root and not report["user_namespace"]:
        if report["mount_namespace"]:
            os.chown("/tmp", cfg["uid"], cfg["gid"])
            os.setgroups([])
            os.setgid(cfg["gid"])
            os.setuid(cfg["uid"])  # from root to non-root: every capability goes too
            report["uid"] = cfg["uid"]
        else:
            missing("unprivileged user", "scripts run as root: without the private root, "
                    "uid %d may not reach the interpreter" % cfg["uid"])
    elif report["user_namespace"]:
        libc.drop_capabilities()
        if uid == 0:
            missing("unprivileged user", "root inside a user namespace (could not drop to uid %d)" % cfg["uid"])

    # 5. no_new_privs: no set-uid binary or file capability gives anything back.
    try:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1)
        report["no_new_privs"] = True
    except OSError as exc:
        missing("no_new_privs", str(exc))

    # 6. Landlock: behind the private root, writes only where planned; without it, also reads
    #    only of the planned paths (no /proc: the engine's would be there).
    try:
        writable = [(t if report["mount_namespace"] else s) for s, t, w in _plan(cfg) if w]
        rules = [(p, -1) for p in writable]
        rules += [("/dev/" + d, LL_READ_FILE | LL_WRITE_FILE | LL_TRUNCATE | LL_IOCTL_DEV) for d in DEVICES]
        if report["mount_namespace"]:
            rules += [("/", LL_READ), ("/dev/shm", -1)]
            if report["pid_namespace"]:
                rules.append(("/proc", LL_READ_FILE | LL_READ_DIR | LL_WRITE_FILE))
        else:
            rules += [(s, LL_READ) for s, t, w in _plan(cfg) if not w]
        report["landlock_abi"] = _landlock(libc, rules)
    except OSError as exc:
        missing("landlock", str(exc))

    # 7. The worker proper, PID 2 under init.
    if report["pid_namespace"]:
        worker = os.fork()
        if worker:
            for fd in protocol_fds:
                os.close(fd)
            _reap(worker, status_w)  # never returns
        os.close(status_w)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    return report


# ---------------------------------------------------------------------------------------------
# Process set-up and the protocol loop
# ---------------------------------------------------------------------------------------------

def _read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd):
    header = _read_exact(fd, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    return _read_exact(fd, length)


def _send(fd, obj):
    result = obj.get("result") if isinstance(obj, dict) else None
    raw = result.pop("_result_raw", None) if isinstance(result, dict) else None
    # "replace": a lone surrogate a script put in a string must not make the reply unsendable.
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    data = struct.pack(">I", len(body)) + body
    if raw is not None:
        data += struct.pack(">I", len(raw)) + raw
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _watch_parent(parent):
    """If the engine dies without closing our pipes (SIGKILL while a script runs), take this
    worker's whole process group down so nothing is left behind."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            try:
                os.killpg(os.getpgid(0), signal.SIGKILL)
            finally:
                os._exit(1)


def main():
    # Started as: python3 -I -c <bootstrap> <this program> <memory limit in bytes> <isolation>
    memory_limit = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    isolation = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {"mode": "off"}
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)
    sys.stdout = sys.stderr
    os.set_inheritable(proto_in, False)
    os.set_inheritable(proto_out, False)
    try:
        protections = _isolate(isolation, [proto_in, proto_out])
    except _IsolationFailed as exc:
        sys.stderr.write("omnibridge: script isolation: %s\n" % exc)
        sys.stderr.flush()
        os._exit(70)
    try:
        import faulthandler
        faulthandler.enable()  # a segfaulting script leaves its Python traceback on stderr
    except Exception:
        pass
    if memory_limit:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    if not protections["pid_namespace"]:  # else the outer process watches, see _relay
        threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    _install_shims()
    worker = Worker(memory_limit)
    _send(proto_out, {"status": "ready", "python": "%d.%d.%d" % sys.version_info[:3], "pid": os.getpid(),
                      "protections": protections})
    while True:
        header = _read_exact(proto_in, 4)
        if header is None:
            return  # the engine closed our stdin: shut down cleanly
        (length,) = struct.unpack(">I", header)
        body = _read_exact(proto_in, length)
        if body is None:
            return
        try:
            req = json.loads(body)
            if req.get("content_frame"):
                raw = _read_frame(proto_in)
                if raw is None:
                    return
                req["_content_raw"] = raw
            op = req.get("op")
            if op == "run":
                reply = worker.run(req)
            elif op == "check":
                reply = worker.check(req)
            else:
                reply = {"status": "error", "message": "unknown op %r" % (op,), "retire": True}
        except BaseException:  # a script broke the worker's own machinery: report and retire
            reply = {"status": "error", "message": traceback.format_exc(), "retire": True}
        _send(proto_out, reply)
        if reply.get("retire"):
            return


if __name__ == "__main__":
    main()
