//! What importable Python callables can do.
//!
//! A pickle, a Keras config or a code string names callables as `module` + `qualname`. This
//! catalog maps such a name to the [`Capability`] it reaches. It is the single place where
//! modelguard encodes knowledge of the standard library and of ML frameworks' gadgets, so that
//! a pickle `GLOBAL`, a `getattr` resolved by data flow and a call in `eval`'d source are judged
//! alike.
//!
//! Matching follows how Python resolves the name, not how it is spelt:
//! - a pattern on a module covers its submodules (`asyncio` covers `asyncio.unix_events`),
//!   because a denylist that only matches exact modules was bypassed (CVE-2025-10157);
//! - a dotted qualname is walked like `find_class` walks it: `('logging', 'os.system')` reaches
//!   `os.system` when `logging` has an `os` attribute, so every split of the joined dotted path
//!   into "module" + "attribute path" is tried.

use serde::Serialize;

/// A dangerous thing a callable can do when called (or, for classes, instantiated).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Starts a process or a shell (os.system, subprocess, pty.spawn, pip…).
    ProcessExec,
    /// Compiles or runs Python code from data (eval, exec, runpy, cProfile.run…).
    DynamicCode,
    /// Creates code or function objects from parts (types.CodeType, cloudpickle._make_function).
    CodeObject,
    /// Imports or resolves arbitrary names (__import__, importlib, pkgutil.resolve_name,
    /// operator.attrgetter): a step towards any other capability.
    ImportMachinery,
    /// Reaches interpreter internals (getattr, globals, vars, sys._getframe, gc).
    Introspection,
    /// Deserialises nested data that can itself run code (pickle.loads, torch.load, marshal).
    Deserialize,
    /// Writes, deletes or changes files and permissions.
    FileWrite,
    /// Reads files or lists directories.
    FileRead,
    /// Opens network connections or fetches URLs.
    Network,
    /// Loads or calls native code (ctypes, cffi, C extensions, cpp_extension).
    NativeCode,
    /// Changes process-wide state (environment, signals, exit, kill).
    ProcessControl,
}

impl Capability {
    /// Stable kebab-case name, used in evidence and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::ProcessExec => "process-exec",
            Capability::DynamicCode => "dynamic-code",
            Capability::CodeObject => "code-object",
            Capability::ImportMachinery => "import-machinery",
            Capability::Introspection => "introspection",
            Capability::Deserialize => "deserialize",
            Capability::FileWrite => "file-write",
            Capability::FileRead => "file-read",
            Capability::Network => "network",
            Capability::NativeCode => "native-code",
            Capability::ProcessControl => "process-control",
        }
    }

    /// One-line description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Capability::ProcessExec => "runs a process or shell command",
            Capability::DynamicCode => "compiles or executes Python code",
            Capability::CodeObject => "builds a code or function object",
            Capability::ImportMachinery => "imports or resolves arbitrary names",
            Capability::Introspection => "reaches interpreter internals",
            Capability::Deserialize => "deserialises nested data that can run code",
            Capability::FileWrite => "writes or deletes files",
            Capability::FileRead => "reads files",
            Capability::Network => "opens network connections",
            Capability::NativeCode => "loads native code",
            Capability::ProcessControl => "changes process-wide state",
        }
    }
}

/// A catalog match: what the name reaches and the pattern that matched (for evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Capability reached.
    pub capability: Capability,
    /// The catalog pattern, `module:qualname` (`*` = anything below), or for a capability the
    /// ecosystem table found in the callee's code, the callee that reaches it.
    pub pattern: &'static str,
    /// Whether the capability is reached only through the callee's own code (not by the name
    /// itself): a gadget one step removed.
    pub indirect: bool,
}

use Capability::*;

/// The catalog. `module:*` covers every attribute of the module and of its submodules;
/// `module:Name.*` covers every attribute of a class. Order matters only for overlaps: the
/// first match wins, so put specific entries before broad ones.
const CATALOG: &[(&str, Capability)] = &[
    // --- known-benign constructors inside otherwise broad patterns (none yet) ---
    // --- process execution ---
    ("os:system", ProcessExec),
    ("os:popen", ProcessExec),
    ("os:exec*", ProcessExec),
    ("os:spawn*", ProcessExec),
    ("os:posix_spawn*", ProcessExec),
    ("os:fork*", ProcessExec),
    ("os:startfile", ProcessExec),
    // os functions are implemented in posix (nt on Windows): find_class resolves
    // `os.system` to `posix.system`, so the real targets are listed one by one (stat, fspath,
    // urandom are what ordinary code calls).
    ("posix:system", ProcessExec),
    ("posix:exec*", ProcessExec),
    ("posix:spawn*", ProcessExec),
    ("posix:posix_spawn*", ProcessExec),
    ("posix:fork*", ProcessExec),
    ("posix:startfile", ProcessExec),
    ("posix:popen", ProcessExec),
    ("posix:kill*", ProcessControl),
    ("posix:_exit", ProcessControl),
    ("posix:abort", ProcessControl),
    ("posix:putenv", ProcessControl),
    ("posix:unsetenv", ProcessControl),
    ("posix:chdir", ProcessControl),
    ("posix:register_at_fork", ProcessControl),
    ("posix:remove", FileWrite),
    ("posix:unlink", FileWrite),
    ("posix:rmdir", FileWrite),
    ("posix:rename", FileWrite),
    ("posix:replace", FileWrite),
    ("posix:mkdir", FileWrite),
    ("posix:mkfifo", FileWrite),
    ("posix:mknod", FileWrite),
    ("posix:chmod", FileWrite),
    ("posix:chown", FileWrite),
    ("posix:lchown", FileWrite),
    ("posix:symlink", FileWrite),
    ("posix:link", FileWrite),
    ("posix:truncate", FileWrite),
    ("posix:ftruncate", FileWrite),
    ("posix:write", FileWrite),
    ("posix:pwrite", FileWrite),
    ("posix:open", FileWrite),
    ("posix:dup2", FileWrite),
    ("posix:utime", FileWrite),
    ("posix:chroot", ProcessControl),
    ("posix:setuid", ProcessControl),
    ("posix:setgid", ProcessControl),
    ("posix:listdir", FileRead),
    ("posix:scandir", FileRead),
    ("posix:read", FileRead),
    ("nt:system", ProcessExec),
    ("nt:exec*", ProcessExec),
    ("nt:spawn*", ProcessExec),
    ("nt:posix_spawn*", ProcessExec),
    ("nt:fork*", ProcessExec),
    ("nt:startfile", ProcessExec),
    ("nt:popen", ProcessExec),
    ("nt:kill*", ProcessControl),
    ("nt:_exit", ProcessControl),
    ("nt:abort", ProcessControl),
    ("nt:putenv", ProcessControl),
    ("nt:unsetenv", ProcessControl),
    ("nt:chdir", ProcessControl),
    ("nt:register_at_fork", ProcessControl),
    ("nt:remove", FileWrite),
    ("nt:unlink", FileWrite),
    ("nt:rmdir", FileWrite),
    ("nt:rename", FileWrite),
    ("nt:replace", FileWrite),
    ("nt:mkdir", FileWrite),
    ("nt:mkfifo", FileWrite),
    ("nt:mknod", FileWrite),
    ("nt:chmod", FileWrite),
    ("nt:chown", FileWrite),
    ("nt:lchown", FileWrite),
    ("nt:symlink", FileWrite),
    ("nt:link", FileWrite),
    ("nt:truncate", FileWrite),
    ("nt:ftruncate", FileWrite),
    ("nt:write", FileWrite),
    ("nt:pwrite", FileWrite),
    ("nt:open", FileWrite),
    ("nt:dup2", FileWrite),
    ("nt:utime", FileWrite),
    ("nt:chroot", ProcessControl),
    ("nt:setuid", ProcessControl),
    ("nt:setgid", ProcessControl),
    ("nt:listdir", FileRead),
    ("nt:scandir", FileRead),
    ("nt:read", FileRead),
    ("subprocess:*", ProcessExec),
    ("_posixsubprocess:*", ProcessExec),
    ("_winapi:CreateProcess", ProcessExec),
    ("_winapi:*", ProcessControl),
    ("pty:*", ProcessExec),
    ("commands:*", ProcessExec),
    ("popen2:*", ProcessExec),
    ("platform:popen", ProcessExec),
    ("platform:_syscmd_*", ProcessExec),
    ("asyncio.subprocess:*", ProcessExec),
    ("asyncio.unix_events:*", ProcessExec),
    ("asyncio.windows_events:*", ProcessExec),
    ("asyncio.base_events:*", ProcessExec),
    ("asyncio:create_subprocess_*", ProcessExec),
    ("asyncio:*", ProcessControl),
    ("multiprocessing.util:spawnv_passfds", ProcessExec),
    ("multiprocessing.popen_*:*", ProcessExec),
    ("multiprocessing:*", ProcessControl),
    ("uuid:_get_command_stdout", ProcessExec),
    ("uuid:_popen", ProcessExec),
    ("imaplib:IMAP4_stream", ProcessExec),
    ("_osx_support:*", ProcessExec),
    ("_aix_support:*", ProcessExec),
    ("_pyrepl.pager:*", ProcessExec),
    ("pydoc:pipepager", ProcessExec),
    ("pydoc:pager", ProcessExec),
    ("pydoc:tempfilepager", ProcessExec),
    ("pydoc:getpager", ProcessExec),
    ("venv:*", ProcessExec),
    ("ensurepip:*", ProcessExec),
    ("pip:*", ProcessExec),
    ("setuptools:*", ProcessExec),
    ("distutils.spawn:*", ProcessExec),
    ("distutils.util:execute", ProcessExec),
    ("webbrowser:*", ProcessExec),
    ("ctypes.util:find_library", ProcessExec),
    ("test.support.script_helper:*", ProcessExec),
    ("test.support:*", ProcessExec),
    ("torch.utils.collect_env:*", ProcessExec),
    ("mlflow.projects.backend.local:*", ProcessExec),
    ("mlflow.utils.process:*", ProcessExec),
    ("os:kill*", ProcessControl),
    ("os:_exit", ProcessControl),
    ("os:abort", ProcessControl),
    ("os:putenv", ProcessControl),
    ("os:unsetenv", ProcessControl),
    ("os:environ.*", ProcessControl),
    ("os:chdir", ProcessControl),
    ("signal:*", ProcessControl),
    ("_signal:*", ProcessControl),
    ("resource:setrlimit", ProcessControl),
    ("sqlite3:connect", FileWrite),
    ("_sqlite3:*", FileWrite),
    ("fcntl:*", FileWrite),
    ("sys:exit", ProcessControl),
    ("sys:settrace", ProcessControl),
    ("sys:setprofile", ProcessControl),
    ("sys:addaudithook", ProcessControl),
    ("builtins:exit", ProcessControl),
    ("builtins:quit", ProcessControl),
    ("atexit:*", ProcessControl),
    ("threading:*", ProcessControl),
    ("_thread:*", ProcessControl),
    // --- dynamic code ---
    ("builtins:eval", DynamicCode),
    ("builtins:exec", DynamicCode),
    ("builtins:execfile", DynamicCode),
    ("builtins:compile", DynamicCode),
    ("builtins:breakpoint", DynamicCode),
    ("builtins:input", DynamicCode),
    ("code:*", DynamicCode),
    // Sub-interpreters run source strings (`_xxsubinterpreters.run_string(id, code)`).
    ("_xxsubinterpreters:*", DynamicCode),
    ("_interpreters:*", DynamicCode),
    ("_xxinterpchannels:*", DynamicCode),
    ("_testcapi:*", DynamicCode),
    ("_testinternalcapi:*", DynamicCode),
    ("codeop:*", DynamicCode),
    ("runpy:*", DynamicCode),
    ("timeit:*", DynamicCode),
    ("cProfile:*", DynamicCode),
    ("profile:*", DynamicCode),
    ("trace:*", DynamicCode),
    ("pdb:*", DynamicCode),
    ("bdb:*", DynamicCode),
    ("doctest:*", DynamicCode),
    ("idlelib:*", DynamicCode),
    ("lib2to3:*", Deserialize),
    ("numpy.testing._private.utils:runstring", DynamicCode),
    ("numpy.testing:*", DynamicCode),
    ("numpy.f2py:*", ProcessExec),
    ("numpy.distutils:*", ProcessExec),
    ("torch.jit.unsupported_tensor_ops:*", DynamicCode),
    ("torch._dynamo.guards:*", DynamicCode),
    ("torch.fx.experimental.symbolic_shapes:*", DynamicCode),
    ("torch.utils.bottleneck:*", DynamicCode),
    ("torch._inductor.codecache:*", NativeCode),
    ("torch.utils.cpp_extension:*", NativeCode),
    ("torch._inductor:*", DynamicCode),
    ("torch.package:*", Deserialize),
    ("torch.hub:*", Network),
    ("sympy:sympify", DynamicCode),
    ("sympy.parsing:*", DynamicCode),
    ("pandas:eval", DynamicCode),
    ("pandas.core.computation:*", DynamicCode),
    ("numexpr:*", DynamicCode),
    ("IPython:*", DynamicCode),
    ("jinja2:*", DynamicCode),
    ("builtins:__build_class__", CodeObject),
    ("types:CodeType", CodeObject),
    ("types:FunctionType", CodeObject),
    ("types:LambdaType", CodeObject),
    ("types:MethodType", CodeObject),
    ("types:*", Introspection),
    // cloudpickle and dill rebuild functions from code objects: the function-making step is
    // judged by the code it carries; skeleton classes, cells and setstate helpers only
    // assemble what the pickle already holds.
    ("cloudpickle.cloudpickle:_make_function", CodeObject),
    ("cloudpickle.cloudpickle_fast:_make_function", CodeObject),
    ("cloudpickle.cloudpickle:_builtin_type", CodeObject),
    ("cloudpickle.cloudpickle:subimport", ImportMachinery),
    ("cloudpickle.cloudpickle:dynamic_subimport", ImportMachinery),
    ("cloudpickle.cloudpickle:_import_module", ImportMachinery),
    ("cloudpickle:load*", Deserialize),
    ("cloudpickle.cloudpickle:load*", Deserialize),
    ("dill._dill:_create_code", CodeObject),
    ("dill._dill:_create_function", CodeObject),
    ("dill._dill:_create_type", CodeObject),
    ("dill._dill:_create_lock", ProcessControl),
    ("dill._dill:_import_module", ImportMachinery),
    ("dill._dill:_get_attr", Introspection),
    ("dill._dill:_load_type", Introspection),
    ("dill._dill:_eval_repr", DynamicCode),
    ("dill._dill:_create_filehandle", FileWrite),
    ("dill._dill:_unmarshal", Deserialize),
    ("dill._dill:_setattr", Introspection),
    ("dill._dill:_delattr", Introspection),
    ("dill._dill:load*", Deserialize),
    ("dill:load*", Deserialize),
    ("dill._dill:Unpickler", Deserialize),
    ("dill:Unpickler", Deserialize),
    // --- import machinery and universal resolvers ---
    ("builtins:__import__", ImportMachinery),
    ("importlib:*", ImportMachinery),
    ("imp:*", ImportMachinery),
    // `_imp.create_dynamic` loads an extension module (native code) from a spec.
    ("_imp:create_dynamic", NativeCode),
    ("_imp:*", ImportMachinery),
    ("_frozen_importlib:*", ImportMachinery),
    ("_frozen_importlib_external:*", ImportMachinery),
    ("pkgutil:*", ImportMachinery),
    ("pydoc:locate", ImportMachinery),
    ("pydoc:safeimport", ImportMachinery),
    ("pydoc:*", ImportMachinery),
    ("zipimport:*", ImportMachinery),
    ("operator:attrgetter", ImportMachinery),
    ("operator:methodcaller", ImportMachinery),
    ("_operator:attrgetter", ImportMachinery),
    ("_operator:methodcaller", ImportMachinery),
    ("functools:partial", ImportMachinery),
    ("functools:reduce", ImportMachinery),
    ("_functools:*", ImportMachinery),
    ("builtins:getattr", Introspection),
    ("builtins:setattr", Introspection),
    ("builtins:delattr", Introspection),
    ("builtins:globals", Introspection),
    ("builtins:locals", Introspection),
    ("builtins:vars", Introspection),
    ("builtins:dir", Introspection),
    ("builtins:apply", DynamicCode),
    ("builtins:object.__subclasses__", Introspection),
    ("builtins:type.__subclasses__", Introspection),
    ("sys:*", Introspection),
    ("inspect:*", Introspection),
    ("gc:*", Introspection),
    ("ast:literal_eval", Introspection),
    ("ast:*", DynamicCode),
    // --- nested deserialisers ---
    ("pickle:*", Deserialize),
    ("_pickle:*", Deserialize),
    ("cPickle:*", Deserialize),
    ("pickletools:*", Deserialize),
    ("marshal:*", Deserialize),
    ("shelve:*", Deserialize),
    ("copyreg:_reconstructor", Introspection),
    // Registering an extension code changes what EXT opcodes load, process-wide.
    ("copyreg:add_extension", Introspection),
    ("copyreg:remove_extension", Introspection),
    ("copyreg:pickle", Introspection),
    ("joblib:load", Deserialize),
    ("joblib.numpy_pickle:load", Deserialize),
    ("torch:load", Deserialize),
    // A tensor pickled with plain pickle: its storage is a nested torch.save stream.
    ("torch.storage:_load_from_bytes", Deserialize),
    ("torch.serialization:load", Deserialize),
    ("torch.serialization:_load", Deserialize),
    ("torch.serialization:_legacy_load", Deserialize),
    ("torch.jit:load", Deserialize),
    ("torch.utils.data.datapipes:*", Deserialize),
    ("torch._inductor.config:*", Deserialize),
    ("torch.utils._config_module:*", Deserialize),
    ("numpy:load", Deserialize),
    ("numpy.lib.npyio:load", Deserialize),
    ("numpy.lib._npyio_impl:load", Deserialize),
    ("pandas:read_pickle", Deserialize),
    ("pandas.io.pickle:*", Deserialize),
    ("jsonpickle:*", Deserialize),
    ("yaml:load", Deserialize),
    ("yaml:unsafe_load", Deserialize),
    ("yaml:full_load", Deserialize),
    ("keras.models:load_model", Deserialize),
    ("keras.saving:*", Deserialize),
    ("tensorflow.keras.models:load_model", Deserialize),
    ("tensorflow.saved_model:load", Deserialize),
    ("tensorflow.compat.v1.saved_model:*", Deserialize),
    ("numpy.lib.format:read_array", Deserialize),
    // --- ML-framework file, network and native-code entry points reachable from Lambda code ---
    ("tensorflow.io.gfile:*", FileWrite),
    ("tensorflow.gfile:*", FileWrite),
    ("tensorflow.compat.v1.gfile:*", FileWrite),
    ("tensorflow.compat.v1.io.gfile:*", FileWrite),
    ("tensorflow.io:write_file", FileWrite),
    ("tensorflow.compat.v1.io:write_file", FileWrite),
    ("tensorflow.io:read_file", FileRead),
    ("tensorflow.compat.v1.io:read_file", FileRead),
    ("tensorflow.io:matching_files", FileRead),
    ("tensorflow.raw_ops:WriteFile", FileWrite),
    ("tensorflow.raw_ops:ReadFile", FileRead),
    ("tensorflow.raw_ops:MatchingFiles", FileRead),
    ("tensorflow.raw_ops:PyFunc", DynamicCode),
    ("tensorflow.raw_ops:EagerPyFunc", DynamicCode),
    ("tensorflow:load_op_library", NativeCode),
    ("tensorflow:load_library", NativeCode),
    ("tensorflow.keras.utils:get_file", Network),
    ("keras.utils:get_file", Network),
    ("tf_keras.utils:get_file", Network),
    ("numpy.ctypeslib:*", NativeCode),
    ("numpy:DataSource", Network),
    ("numpy.lib._datasource:*", Network),
    ("numpy:fromregex", FileRead),
    ("torch.utils.model_zoo:*", Network),
    // --- filesystem ---
    ("builtins:open", FileWrite),
    ("builtins:file", FileWrite),
    ("io:open", FileWrite),
    ("io:FileIO", FileWrite),
    ("io:open_code", FileRead),
    ("_io:*", FileWrite),
    ("codecs:open", FileWrite),
    ("os:remove", FileWrite),
    ("os:unlink", FileWrite),
    ("os:rmdir", FileWrite),
    ("os:removedirs", FileWrite),
    ("os:rename*", FileWrite),
    ("os:replace", FileWrite),
    ("os:mkdir", FileWrite),
    ("os:makedirs", FileWrite),
    ("os:chmod", FileWrite),
    ("os:chown", FileWrite),
    ("os:lchown", FileWrite),
    ("os:symlink", FileWrite),
    ("os:link", FileWrite),
    ("os:truncate", FileWrite),
    ("os:write", FileWrite),
    ("os:open", FileWrite),
    ("os:fdopen", FileWrite),
    ("os:listdir", FileRead),
    ("os:scandir", FileRead),
    ("os:walk", FileRead),
    ("os:read", FileRead),
    ("os:getenv", FileRead),
    ("shutil:*", FileWrite),
    ("tempfile:*", FileWrite),
    ("fileinput:*", FileWrite),
    ("logging:FileHandler", FileWrite),
    ("logging.handlers:*", FileWrite),
    ("logging.config:*", DynamicCode),
    ("distutils.file_util:*", FileWrite),
    ("distutils.dir_util:*", FileWrite),
    ("distutils:*", ProcessExec),
    ("pathlib:*.write_text", FileWrite),
    ("pathlib:*.write_bytes", FileWrite),
    ("pathlib:*.unlink", FileWrite),
    ("pathlib:*.rmdir", FileWrite),
    ("pathlib:*.rename", FileWrite),
    ("pathlib:*.replace", FileWrite),
    ("pathlib:*.touch", FileWrite),
    ("pathlib:*.mkdir", FileWrite),
    ("pathlib:*.chmod", FileWrite),
    ("pathlib:*.symlink_to", FileWrite),
    ("pathlib:*.open", FileWrite),
    ("pathlib:*.read_text", FileRead),
    ("pathlib:*.read_bytes", FileRead),
    ("zipfile:*", FileWrite),
    ("tarfile:*", FileWrite),
    ("glob:*", FileRead),
    ("linecache:*", FileRead),
    ("mmap:*", FileRead),
    ("numpy:save*", FileWrite),
    ("numpy:fromfile", FileRead),
    ("numpy:loadtxt", FileRead),
    ("numpy:genfromtxt", FileRead),
    ("numpy:memmap", FileWrite),
    ("numpy:*.tofile", FileWrite),
    ("torch:save", FileWrite),
    ("torch.serialization:save", FileWrite),
    ("torch:from_file", FileRead),
    ("pandas:read_*", FileRead),
    ("pandas:*.to_*", FileWrite),
    // --- network ---
    ("socket:*", Network),
    ("_socket:*", Network),
    ("ssl:*", Network),
    ("_ssl:*", Network),
    ("http:*", Network),
    ("httplib:*", Network),
    ("urllib:*", Network),
    ("urllib2:*", Network),
    ("urllib3:*", Network),
    ("requests:*", Network),
    ("httpx:*", Network),
    ("aiohttp:*", Network),
    ("ftplib:*", Network),
    ("smtplib:*", Network),
    ("telnetlib:*", Network),
    ("imaplib:*", Network),
    ("poplib:*", Network),
    ("nntplib:*", Network),
    ("xmlrpc:*", Network),
    ("xmlrpclib:*", Network),
    ("socketserver:*", Network),
    ("SocketServer:*", Network),
    ("asyncore:*", Network),
    ("asynchat:*", Network),
    ("wsgiref:*", Network),
    ("huggingface_hub:*", Network),
    ("transformers.utils.hub:*", Network),
    // --- native code ---
    ("ctypes:*", NativeCode),
    ("_ctypes:*", NativeCode),
    ("cffi:*", NativeCode),
    ("_cffi_backend:*", NativeCode),
    ("torch.ops:load_library", NativeCode),
    // torch._C is mostly tensor kernels (allowlisted namespaces); these load code or models.
    ("torch._C:_load_*", NativeCode),
    ("torch._C:_import_ir_module_from_package", NativeCode),
    ("torch.classes:load_library", NativeCode),
    ("torch._ops:*.load_library", NativeCode),
];

/// Names inside broad catalog patterns that reach no capability: checked before the catalog
/// (same pattern syntax). Judging real targets made these visible: `urllib.parse.urlparse` is
/// pure string work, `pickle.dumps` saves rather than loads.
const NOT_CAPABILITIES: &[&str] = &[
    "pickle:dump*",
    "pickle:Pickler",
    "pickle:_Pickler",
    "pickle:PickleError",
    "pickle:PicklingError",
    "pickle:UnpicklingError",
    "_pickle:dump*",
    "_pickle:Pickler",
    "_pickle:PickleError",
    "_pickle:PicklingError",
    "_pickle:UnpicklingError",
    "urllib.parse:*",
    "urllib.error:*",
    "http:HTTPStatus",
    "http:HTTPMethod",
    "http.client:responses",
    "sys:getrecursionlimit",
    "sys:getsizeof",
    "sys:intern",
    "sys:maxsize",
    "sys:float_info",
    "sys:byteorder",
    "sys:version_info",
    "sys:getdefaultencoding",
    "sys:getfilesystemencoding",
    "types:SimpleNamespace",
    "types:MappingProxyType",
    "types:NoneType",
    "types:EllipsisType",
    "types:NotImplementedType",
    "types:GenericAlias",
    "types:CellType",
    "types:ModuleType",
    "types:GetSetDescriptorType",
    "types:MemberDescriptorType",
    "types:WrapperDescriptorType",
    "types:MethodDescriptorType",
    "types:ClassMethodDescriptorType",
    "types:MethodWrapperType",
    "types:BuiltinFunctionType",
    "types:BuiltinMethodType",
    "types:UnionType",
    "signal:Signals",
    "signal:Handlers",
    "signal:Sigmasks",
];

static NOT_CAPABILITIES_INDEX: std::sync::LazyLock<
    rustc_hash::FxHashMap<&'static str, Vec<&'static str>>,
> = std::sync::LazyLock::new(|| {
    let mut m: rustc_hash::FxHashMap<&'static str, Vec<&'static str>> =
        rustc_hash::FxHashMap::default();
    for p in NOT_CAPABILITIES {
        if let Some((pm, pq)) = p.split_once(':') {
            m.entry(pm).or_default().push(pq);
        }
    }
    m
});

/// Whether `module` + `qualname` is listed as reaching no capability, under any split of the
/// dotted path (`urllib` + `parse.urlparse` is `urllib.parse` + `urlparse`).
fn exempt(module: &str, qualname: &str) -> bool {
    if exempt_split(module, qualname) {
        return true;
    }
    let mut m = module;
    let mut q = qualname.to_string();
    while let Some((parent, last)) = m.rsplit_once('.') {
        q = format!("{last}.{q}");
        m = parent;
        if exempt_split(m, &q) {
            return true;
        }
    }
    let mut q = qualname;
    let mut m = module.to_string();
    while let Some((first, rest)) = q.split_once('.') {
        m = format!("{m}.{first}");
        q = rest;
        if exempt_split(&m, q) {
            return true;
        }
    }
    false
}

fn exempt_split(module: &str, qualname: &str) -> bool {
    if NOT_CAPABILITIES_INDEX
        .get(module)
        .is_some_and(|v| v.iter().any(|pq| glob(pq, qualname)))
    {
        return true;
    }
    let mut m = module;
    while let Some((parent, _)) = m.rsplit_once('.') {
        if NOT_CAPABILITIES_INDEX
            .get(parent)
            .is_some_and(|v| v.contains(&"*"))
        {
            return true;
        }
        m = parent;
    }
    false
}

/// Classify `module` + `qualname` (as `find_class` receives them, after Python 2 mapping).
///
/// Returns the first catalog entry that matches any way Python could resolve the name (see
/// the module docs), or `None` when the catalog knows nothing dangerous about it — which does
/// not make it safe: the caller's allowlist decides that.
pub fn classify(module: &str, qualname: &str) -> Option<Entry> {
    // Every import and call of every pickle is classified, often the same names.
    thread_local! {
        static MEMO: crate::ecosystem::NameMemo<Option<Entry>> =
            crate::ecosystem::NameMemo::default();
    }
    MEMO.with(|m| m.get_or(module, qualname, classify_uncached))
}

fn classify_uncached(module: &str, qualname: &str) -> Option<Entry> {
    // The real target first (re-exports, module aliases: `sklearn.utils._testing.check_output`
    // is `subprocess.check_output`), then what the ecosystem table found its code reaches,
    // then the spelling itself (every dotted split, for names the table does not know).
    let real = crate::ecosystem::resolve(module, qualname);
    if let Some(e) = lookup_spelling(&real.module, &real.qualname) {
        return Some(e);
    }
    // A curated entry on the public spelling (`tensorflow.load_op_library`) outranks what the
    // table inferred from the definition's code.
    if real.aliased
        && let Some(e) = lookup_spelling(module, qualname)
    {
        return Some(e);
    }
    if let Some(rec) = real.record
        && let Some(capability) = rec.capability
    {
        return Some(Entry {
            capability,
            pattern: rec.via.or(rec.target).unwrap_or("ecosystem table"),
            indirect: rec.via.is_some(),
        });
    }
    lookup_spelling(module, qualname)
}

/// The catalog matched on a spelling: as written, then every split of the dotted path.
fn lookup_spelling(module: &str, qualname: &str) -> Option<Entry> {
    // The joined dotted path, e.g. "logging.os.system", split at every dot into a module and an
    // attribute path, longest module first. The name as written comes first.
    if let Some(e) = lookup(module, qualname) {
        return Some(e);
    }
    // Without a dot on either side the name as written is the only reading.
    if !module.contains('.') && !qualname.contains('.') {
        return None;
    }
    let joined = format!("{module}.{qualname}");
    // find_class may reach a module through attributes (logging.os → os): try every suffix
    // of the joined path as a fresh module path too (os.system from logging.os.system).
    // Split positions are byte offsets of the dots, so no string is built per try (this runs
    // for every import of every pickle).
    let dots: Vec<usize> = joined
        .char_indices()
        .filter(|&(_, c)| c == '.')
        .map(|(i, _)| i)
        .collect();
    // Only attribute paths can lead elsewhere: start inside the qualname, never inside the
    // module path (`torch.jit._pickle` is not `_pickle`).
    let first_attr = module.split('.').count();
    let starts = std::iter::once(0).chain(
        dots.iter()
            .enumerate()
            .filter(|&(k, _)| k + 1 >= first_attr.max(1))
            .map(|(_, &d)| d + 1),
    );
    for start in starts {
        for &d in dots.iter().rev().filter(|&&d| d > start) {
            let (Some(m), Some(q)) = (joined.get(start..d), joined.get(d + 1..)) else {
                continue;
            };
            if m == module && q == qualname {
                continue;
            }
            if let Some(e) = lookup(m, q) {
                return Some(e);
            }
        }
    }
    None
}

/// Whether the catalog lists anything under the top-level module `name` (`os`, `subprocess`,
/// `pickle`…). Analysers use it to read an unbound global of that name as the module itself.
pub fn mentions_module(name: &str) -> bool {
    !name.is_empty()
        && CATALOG.iter().any(|(pattern, _)| {
            let module = pattern.split_once(':').map_or(*pattern, |(m, _)| m);
            module.split('.').next() == Some(name)
        })
}

/// The table indexed by module, built once: a lookup touches only the entries of the module
/// and of its parent packages instead of scanning the whole table (this is on the hot path:
/// every import and call of every pickle is classified).
static INDEX: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, Vec<(usize, &'static str)>>> =
    std::sync::LazyLock::new(|| {
        let mut m: rustc_hash::FxHashMap<&'static str, Vec<(usize, &'static str)>> =
            rustc_hash::FxHashMap::default();
        for (i, &(pattern, _)) in CATALOG.iter().enumerate() {
            if let Some((pm, pq)) = pattern.split_once(':') {
                m.entry(pm).or_default().push((i, pq));
            }
        }
        m
    });

/// Match one exact (module, qualname) pair against the table (first entry in table order wins).
fn lookup(module: &str, qualname: &str) -> Option<Entry> {
    if exempt(module, qualname) {
        return None;
    }
    let mut best: Option<usize> = None;
    let mut consider = |pm: &str, exact_module: bool| {
        for &(i, pq) in INDEX.get(pm).map(Vec::as_slice).unwrap_or_default() {
            // A submodule only matches `module:*` patterns (a pattern naming one function of
            // `os` says nothing about `os.path`).
            let ok = if exact_module {
                glob(pq, qualname)
            } else {
                pq == "*"
            };
            if ok && best.is_none_or(|b| i < b) {
                best = Some(i);
            }
        }
    };
    consider(module, true);
    let mut m = module;
    while let Some((parent, _)) = m.rsplit_once('.') {
        consider(parent, false);
        m = parent;
    }
    let &(pattern, capability) = CATALOG.get(best?)?;
    Some(Entry {
        capability,
        pattern,
        indirect: false,
    })
}

/// Minimal glob: `*` matches any run of characters (including dots).
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            if tail.is_empty() {
                return true;
            }
            // Try every position for the remainder (patterns have at most a couple of stars).
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob(tail, rest.get(i..).unwrap_or_default()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(m: &str, q: &str) -> Option<Capability> {
        classify(m, q).map(|e| e.capability)
    }

    #[test]
    fn exact_and_prefix() {
        assert_eq!(cap("os", "system"), Some(ProcessExec));
        assert_eq!(cap("posix", "system"), Some(ProcessExec));
        assert_eq!(cap("subprocess", "Popen"), Some(ProcessExec));
        assert_eq!(cap("builtins", "eval"), Some(DynamicCode));
        assert_eq!(cap("os", "listdir"), Some(FileRead));
    }

    #[test]
    fn submodules_are_covered() {
        assert_eq!(
            cap("asyncio.unix_events", "_UnixSubprocessTransport._start"),
            Some(ProcessExec)
        );
        assert_eq!(cap("numpy.f2py.crackfortran", "x"), Some(ProcessExec));
        // A pattern naming one function does not cover submodules.
        assert_eq!(cap("os.path", "join"), None);
    }

    #[test]
    fn dotted_names_are_walked() {
        assert_eq!(cap("logging", "os.system"), Some(ProcessExec));
        assert_eq!(cap("pathlib", "os.system"), Some(ProcessExec));
    }

    #[test]
    fn benign_names_are_unknown() {
        assert_eq!(cap("collections", "OrderedDict"), None);
        assert_eq!(cap("torch._utils", "_rebuild_tensor_v2"), None);
        assert_eq!(cap("numpy.core.multiarray", "_reconstruct"), None);
        assert_eq!(cap("builtins", "set"), None);
        assert_eq!(cap("torch.jit._pickle", "build_intlist"), None);
        // Attribute paths that name a submodule resolve through it.
        assert_eq!(cap("torch", "ops.load_library"), Some(NativeCode));
    }

    #[test]
    fn ml_framework_entries() {
        assert_eq!(cap("tensorflow.io", "write_file"), Some(FileWrite));
        assert_eq!(cap("tensorflow.io.gfile", "GFile"), Some(FileWrite));
        assert_eq!(cap("tensorflow", "load_op_library"), Some(NativeCode));
        assert_eq!(cap("keras.utils", "get_file"), Some(Network));
        assert_eq!(cap("numpy.ctypeslib", "load_library"), Some(NativeCode));
        assert_eq!(cap("tensorflow", "reduce_mean"), None);
        assert_eq!(cap("tensorflow.math", "reduce_sum"), None);
    }

    #[test]
    fn module_mentions() {
        assert!(mentions_module("os"));
        assert!(mentions_module("subprocess"));
        assert!(mentions_module("torch"));
        assert!(!mentions_module("collections"));
        assert!(!mentions_module(""));
    }

    #[test]
    fn globbing() {
        assert!(glob("a*", "abc"));
        assert!(glob("*.write_text", "Path.write_text"));
        assert!(!glob("*.write_text", "Path.read_text"));
        assert!(glob("exec*", "execvp"));
    }
}
