#include "symbolizer.h"

#include <fcntl.h>
#include <pthread.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "demangle.h"
#include "elf-symbols.h"
#include "js-arrays.h"

namespace labelprof {
namespace {

struct Mapping {
  uint64_t start;
  uint64_t end;
  uint64_t offset;
  uint64_t inode;
  bool executable;
  std::string path;
};

// One line of /proc/<pid>/maps: start-end perms offset dev inode [path].
bool ParseMapsLine(std::string_view line, Mapping* m) {
  auto hex = [](std::string_view s, uint64_t* v) {
    if (s.empty() || s.size() > 16) return false;
    uint64_t r = 0;
    for (char c : s) {
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return false;
      r = r * 16 + static_cast<uint64_t>(d);
    }
    *v = r;
    return true;
  };
  size_t pos = 0;
  auto field = [&]() {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) pos++;
    size_t begin = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') pos++;
    return line.substr(begin, pos - begin);
  };
  std::string_view range = field();
  std::string_view perms = field();
  std::string_view offset = field();
  std::string_view dev = field();
  std::string_view inode = field();
  size_t dash = range.find('-');
  if (dash == std::string_view::npos || !hex(range.substr(0, dash), &m->start) ||
      !hex(range.substr(dash + 1), &m->end) || perms.empty() || !hex(offset, &m->offset) ||
      dev.empty() || inode.empty()) {
    return false;
  }
  m->inode = 0;
  for (char c : inode) {
    if (c < '0' || c > '9') return false;
    m->inode = m->inode * 10 + static_cast<uint64_t>(c - '0');
  }
  m->executable = perms.find('x') != std::string_view::npos;
  while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) pos++;
  m->path.assign(line.substr(pos));
  return true;
}

std::vector<Mapping> ParseMaps(const std::string& text) {
  std::vector<Mapping> out;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    Mapping m;
    if (ParseMapsLine(std::string_view(text).substr(begin, end - begin), &m))
      out.push_back(std::move(m));
    begin = end + 1;
  }
  std::sort(out.begin(), out.end(),
            [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
  return out;
}

const Mapping* FindMapping(const std::vector<Mapping>& maps, uint64_t address) {
  auto it = std::upper_bound(maps.begin(), maps.end(), address,
                             [](uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == maps.begin()) return nullptr;
  --it;
  return address < it->end ? &*it : nullptr;
}

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, strlen(prefix), prefix) == 0;
}

// Anonymous executable memory: V8's code space (JIT code); newer V8s may
// back it with a memfd.
bool IsAnonymousCode(const Mapping& m) {
  if (!m.executable) return false;
  return m.path.empty() || StartsWith(m.path, "[anon") || StartsWith(m.path, "/memfd:");
}

// V8's builtins that enter JavaScript from C++ (src/symbolizer.ts JS_ENTRY_BUILTINS).
bool IsJsEntry(std::string_view name) {
  static const char* const kEntries[] = {
      "Builtins_JSEntry",
      "Builtins_JSEntryTrampoline",
      "Builtins_JSConstructEntry",
      "Builtins_JSConstructEntryTrampoline",
      "Builtins_JSRunMicrotasksEntry",
      "Builtins_RunMicrotasksTrampoline",
  };
  for (const char* e : kEntries) {
    if (name == e) return true;
  }
  return false;
}

struct Module {
  std::unique_ptr<ElfSymbols> elf;  // null: unreadable (deleted, not ELF)
  std::unordered_map<std::string, std::string> demangled;
};

// The tables of every module met so far, for the life of the process: shared
// by every stop and period, every thread (Workers too) and both the
// synchronous and the pool-thread path. Allocated once and never freed, so
// a pool thread still symbolizing at exit does not meet destroyed globals.
struct SymbolCache {
  std::mutex mutex;  // held for a whole batch
  std::unordered_map<std::string, std::unique_ptr<Module>> modules;
};
SymbolCache& Cache() {
  static SymbolCache* cache = new SymbolCache();
  return *cache;
}

Module* ModuleFor(SymbolCache& cache, const Mapping& m) {
  bool vdso = m.path == "[vdso]";
  if (!vdso && !StartsWith(m.path, "/")) return nullptr;
  // Path + inode: a file replaced on disk (an upgrade) gets a new entry.
  std::string key = m.path + '\0' + std::to_string(vdso ? m.start : m.inode);
  auto found = cache.modules.find(key);
  if (found != cache.modules.end()) return found->second.get();
  auto module = std::make_unique<Module>();
  auto elf = std::make_unique<ElfSymbols>();
  if (vdso) {
    // The vDSO has no file: read its image from our own memory.
    int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      size_t size = static_cast<size_t>(m.end - m.start);
      std::vector<uint8_t> bytes(size);
      if (pread(fd, bytes.data(), size, static_cast<off_t>(m.start)) ==
          static_cast<ssize_t>(size)) {
        elf->image().CopyMemory(bytes.data(), size);
        if (elf->Read("[vdso]")) module->elf = std::move(elf);
      }
      close(fd);
    }
  } else {
    int fd = open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      struct stat st;
      if (fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_ino) == m.inode &&
          elf->image().MapFile(fd) && elf->Read(m.path)) {
        module->elf = std::move(elf);
      }
      close(fd);
    }
  }
  Module* out = module.get();
  cache.modules.emplace(std::move(key), std::move(module));
  return out;
}

enum FrameFlags : uint8_t { kJit = 1, kJsEntry = 2, kBuiltin = 4 };

// Per address: indices into the module and name lists (-1: none), flags,
// and where the address falls in its mapping.
struct Symbolized {
  std::vector<std::string> modules;
  std::vector<std::string> build_ids;
  std::vector<std::string> names;
  std::vector<int32_t> module;
  std::vector<int32_t> name;
  std::vector<uint8_t> flags;
  std::vector<double> file_offset;
  std::vector<double> mapping_start;
  std::vector<double> mapping_limit;
};

void Resolve(const std::vector<double>& addresses, const std::string& maps_text, Symbolized* out) {
  std::vector<Mapping> maps = ParseMaps(maps_text);
  size_t n = addresses.size();
  out->module.assign(n, -1);
  out->name.assign(n, -1);
  out->flags.assign(n, 0);
  out->file_offset.assign(n, 0);
  out->mapping_start.assign(n, 0);
  out->mapping_limit.assign(n, 0);
  std::unordered_map<std::string, int32_t> module_index;
  std::unordered_map<std::string, int32_t> name_index;
  auto intern = [](std::unordered_map<std::string, int32_t>& index, std::vector<std::string>& list,
                   const std::string& s) {
    auto it = index.find(s);
    if (it != index.end()) return it->second;
    int32_t i = static_cast<int32_t>(list.size());
    list.push_back(s);
    index.emplace(s, i);
    return i;
  };
  auto module_of = [&](const std::string& path, const std::string& build_id) {
    std::string key = path + '\0' + build_id;
    auto it = module_index.find(key);
    if (it != module_index.end()) return it->second;
    int32_t i = static_cast<int32_t>(out->modules.size());
    out->modules.push_back(path);
    out->build_ids.push_back(build_id);
    module_index.emplace(std::move(key), i);
    return i;
  };
  SymbolCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  size_t modules_before = cache.modules.size();
  for (size_t i = 0; i < n; i++) {
    double a = addresses[i];
    uint64_t address =
        std::isfinite(a) && a > 0 && a < 18446744073709551616.0 ? static_cast<uint64_t>(a) : 0;
    const Mapping* m = FindMapping(maps, address);
    if (m == nullptr) {
      out->flags[i] = kJit;
      continue;
    }
    uint64_t file_offset = address - m->start + m->offset;
    out->file_offset[i] = static_cast<double>(file_offset);
    out->mapping_start[i] = static_cast<double>(m->start);
    out->mapping_limit[i] = static_cast<double>(m->end);
    if (IsAnonymousCode(*m)) {
      out->flags[i] = kJit;
      out->module[i] = module_of(m->path, "");
      continue;
    }
    Module* module = ModuleFor(cache, *m);
    if (module == nullptr || module->elf == nullptr) {
      out->module[i] = module_of(m->path, "");
      continue;
    }
    const ElfSymbols& elf = *module->elf;
    out->module[i] = module_of(m->path, elf.build_id());
    uint64_t vaddr;
    std::string mangled;
    if (!elf.FileOffsetToVaddr(file_offset, &vaddr) || !elf.Lookup(vaddr, &mangled)) continue;
    if (StartsWith(mangled, "Builtins_")) out->flags[i] |= kBuiltin;
    if (IsJsEntry(mangled)) out->flags[i] |= kJsEntry;
    const std::string* name = &mangled;
    if (mangled.size() > 2 && mangled[0] == '_' && mangled[1] == 'Z') {
      auto known = module->demangled.find(mangled);
      if (known == module->demangled.end())
        known = module->demangled.emplace(mangled, Demangle(mangled)).first;
      name = &known->second;
    }
    out->name[i] = intern(name_index, out->names, *name);
  }
#if defined(__GLIBC__)
  // A new table was built: the ~6 MB its raw entries took on this thread's
  // malloc arena go back to the system (glibc keeps them otherwise).
  if (cache.modules.size() != modules_before) malloc_trim(0);
#endif
}

Napi::Value ToJs(Napi::Env env, const Symbolized& s) {
  // Typed arrays through ToTypedArray: in a Worker terminated while the
  // answer was on its way (the environment probe passed just before), a
  // buffer cannot be allocated, and copying into it crashed (worker-churn.js).
  Napi::Object o = Napi::Object::New(env);
  o.Set("modules", ToStringArray(env, s.modules));
  o.Set("buildIds", ToStringArray(env, s.build_ids));
  o.Set("names", ToStringArray(env, s.names));
  o.Set("module", ToTypedArray<int32_t, Napi::Int32Array>(env, s.module));
  o.Set("name", ToTypedArray<int32_t, Napi::Int32Array>(env, s.name));
  o.Set("flags", ToTypedArray<uint8_t, Napi::Uint8Array>(env, s.flags));
  o.Set("fileOffset", ToTypedArray<double, Napi::Float64Array>(env, s.file_offset));
  o.Set("mappingStart", ToTypedArray<double, Napi::Float64Array>(env, s.mapping_start));
  o.Set("mappingLimit", ToTypedArray<double, Napi::Float64Array>(env, s.mapping_limit));
  return o;
}

// Validates (addresses: Float64Array, maps: string) and copies them out of
// the JavaScript heap; false (with a TypeError thrown) on bad arguments.
bool TakeArguments(const Napi::CallbackInfo& info, std::vector<double>* addresses,
                   std::string* maps) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "Expected Float64Array for addresses but received another type")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (info.Length() < 2 || !info[1].IsString()) {
    Napi::TypeError::New(
        env, "Expected string (the text of /proc/self/maps) for maps but received another type")
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::Float64Array a = info[0].As<Napi::Float64Array>();
  addresses->assign(a.Data(), a.Data() + a.ElementLength());
  *maps = info[1].As<Napi::String>().Utf8Value();
  return true;
}

// One symbolizeAsync() call: its input, its answer, the promise to settle,
// and what its thread and its environment know of each other. A Worker's
// environment can be torn down while the job runs, and its threadsafe
// function is freed with it, whoever still holds it: a cleanup hook waits
// for the thread to finish, and the thread calls the threadsafe function
// only while the environment is alive (both under `mutex`).
struct AsyncJob {
  std::vector<double> addresses;
  std::string maps;
  Symbolized result;
  napi_deferred deferred = nullptr;
  napi_threadsafe_function done = nullptr;
  std::mutex mutex;
  std::condition_variable finished;
  bool env_alive = true;  // false once the cleanup hook ran
  bool thread_done = false;
  // Held by the thread, by the settling call (SettleJob) and by the cleanup
  // hook; the last one out frees the job.
  std::atomic<int> refs{3};
};

void Unref(AsyncJob* job) {
  if (job->refs.fetch_sub(1) == 1) delete job;
}

bool CanRunJs(napi_env env) {
  // Settling a promise needs JavaScript to be able to run: at teardown a
  // probe promise fails to settle, cleanly, where a real one would be fatal
  // through node-addon-api.
  napi_deferred probe;
  napi_value promise, undefined;
  if (napi_create_promise(env, &probe, &promise) != napi_ok) return false;
  napi_get_undefined(env, &undefined);
  return napi_resolve_deferred(env, probe, undefined) == napi_ok;
}

// Isolate thread, at environment teardown: no threadsafe function call
// after this, and none under way.
void OnEnvTeardown(void* data) {
  auto* job = static_cast<AsyncJob*>(data);
  {
    std::unique_lock<std::mutex> lock(job->mutex);
    job->env_alive = false;
    job->finished.wait(lock, [job] { return job->thread_done; });
  }
  Unref(job);
}

// Isolate thread, called through the threadsafe function once the job is
// done; env is null when the environment is being torn down.
void SettleJob(napi_env env, napi_value /*js_callback*/, void* /*context*/, void* data) {
  auto* job = static_cast<AsyncJob*>(data);
  bool hook_ran;
  {
    std::lock_guard<std::mutex> lock(job->mutex);
    hook_ran = !job->env_alive;
  }
  if (env != nullptr && !hook_ran) {
    if (CanRunJs(env)) napi_resolve_deferred(env, job->deferred, ToJs(Napi::Env(env), job->result));
    // The hook will not run now: its share goes here.
    napi_remove_env_cleanup_hook(env, OnEnvTeardown, job);
    Unref(job);
  }
  Unref(job);
}

// Its own thread, at a lower priority than the process (nice + 10, this
// thread only; a new thread starts at its creator's): on a busy machine the
// event loop keeps its core, and none of libuv's four pool threads (the
// application's fs, dns, crypto and zlib) is held while a first
// symbolization reads node's tables. Pending, it keeps the event loop alive
// (the threadsafe function is referenced), so a process does not end
// naturally in the middle; process.exit() may, and the thread dies with it.
void* RunJob(void* data) {
  auto* job = static_cast<AsyncJob*>(data);
  id_t tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, tid);
  if (errno == 0) setpriority(PRIO_PROCESS, tid, std::min(nice + 10, 19));
  Resolve(job->addresses, job->maps, &job->result);
  {
    std::lock_guard<std::mutex> lock(job->mutex);
    bool queued = false;
    if (job->env_alive) {
      queued = napi_call_threadsafe_function(job->done, job, napi_tsfn_nonblocking) == napi_ok;
      napi_release_threadsafe_function(job->done, napi_tsfn_release);
    }
    if (!queued) Unref(job);  // SettleJob will not run: its share
    job->thread_done = true;
  }
  job->finished.notify_all();
  Unref(job);
  return nullptr;
}

}  // namespace

Napi::Value JS_symbolize(const Napi::CallbackInfo& info) {
  std::vector<double> addresses;
  std::string maps;
  if (!TakeArguments(info, &addresses, &maps)) return info.Env().Undefined();
  Symbolized result;
  Resolve(addresses, maps, &result);
  return ToJs(info.Env(), result);
}

Napi::Value JS_symbolizeAsync(const Napi::CallbackInfo& info) {
  std::vector<double> addresses;
  std::string maps;
  if (!TakeArguments(info, &addresses, &maps)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  auto* job = new AsyncJob();
  job->addresses = std::move(addresses);
  job->maps = std::move(maps);
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "labelprof:symbolize", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, nullptr,
                                      SettleJob, &job->done) != napi_ok) {
    delete job;
    Napi::Error::New(env, "labelprof: could not set up the symbolization")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Registered after the threadsafe function's own: runs before it is freed.
  napi_add_env_cleanup_hook(env, OnEnvTeardown, job);
  // The pending answer keeps the event loop alive, as a pending fs call would.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int err = pthread_create(&thread, &attr, RunJob, job);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    // No thread to be had: answer now, on this one, as symbolize() would.
    Resolve(job->addresses, job->maps, &job->result);
    napi_resolve_deferred(env, job->deferred, ToJs(env, job->result));
    napi_release_threadsafe_function(job->done, napi_tsfn_release);
    napi_remove_env_cleanup_hook(env, OnEnvTeardown, job);
    delete job;
  }
  return Napi::Value(env, promise);
}

// Tests only: holds (true) or lets go (false) the lock every symbolization
// takes, so a test can show that stop() resolves only once its
// symbolization ran, and that the event loop turned meanwhile. Isolate
// thread; a synchronous symbolization while held would deadlock.
Napi::Value JS__holdSymbolizer(const Napi::CallbackInfo& info) {
  static bool held = false;
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) {
    Napi::TypeError::New(env, "Expected boolean for hold but received another type")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  bool hold = info[0].As<Napi::Boolean>().Value();
  if (hold && !held) Cache().mutex.lock();
  if (!hold && held) Cache().mutex.unlock();
  held = hold;
  return env.Undefined();
}

}  // namespace labelprof
