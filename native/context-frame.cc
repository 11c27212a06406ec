#include "context-frame.h"

#include <v8-version.h>

// V8 12 (Node 22) moved the CPED from the Context to the Isolate and
// published its offset; Node 20's V8 11 has neither.
#if V8_MAJOR_VERSION >= 12
#define LABELPROF_HAVE_CPED 1
#else
#define LABELPROF_HAVE_CPED 0
#endif

namespace labelprof {
namespace {

using I = v8::internal::Internals;

// Tagged words as V8 lays them out on x64 without pointer compression
// (Node's official builds): heap objects have tag bit 1, Smis carry their
// value in the upper 32 bits.
static_assert(v8::internal::kApiTaggedSize == 8, "needs a build without pointer compression");

inline bool IsHeapObject(uintptr_t word) { return (word & 3) == 1; }
inline bool IsSmi(uintptr_t word) { return (word & 0xffffffff) == 0; }
inline int64_t SmiValue(uintptr_t word) { return static_cast<int64_t>(word) >> 32; }
inline const uintptr_t* Fields(uintptr_t object) {
  return reinterpret_cast<const uintptr_t*>(object - 1);
}

// JSMap: map, properties, elements, table.
constexpr int kJSMapTableIndex = 3;
// OrderedHashMap (a FixedArray): map, length, then element count, deleted
// count, bucket count, the buckets, and (key, value, chain) entries.
constexpr int kTableLengthIndex = 1;
constexpr int kElementsIndex = 2;
constexpr int kDeletedIndex = 3;
constexpr int kBucketsIndex = 4;
constexpr int kBucketsStart = 5;
constexpr int kEntrySize = 3;

uintptr_t CurrentFrame(v8::Isolate* isolate) {
#if LABELPROF_HAVE_CPED
  return *reinterpret_cast<const uintptr_t*>(reinterpret_cast<const uint8_t*>(isolate) +
                                             I::kContinuationPreservedEmbedderDataOffset);
#else
  return 0;
#endif
}

// Called in the signal handler (through ReadLabelSetIdSignalSafe): no
// allocation, no lock. Reads only words of live heap objects the isolate
// reaches from its roots, after checking each is what it should be.
int32_t ReadFrame(v8::Isolate* isolate, uintptr_t table_map) {
  uintptr_t frame = CurrentFrame(isolate);
  if (!IsHeapObject(frame)) return 0;
  // `undefined` (no frame) is an Oddball: its fourth word is a number
  // field, never a pointer to an OrderedHashMap, so the map check below
  // turns it away as well.
  uintptr_t table = Fields(frame)[kJSMapTableIndex];
  if (!IsHeapObject(table)) return 0;
  const uintptr_t* t = Fields(table);
  if (t[0] != table_map) return 0;
  if (!IsSmi(t[kTableLengthIndex]) || !IsSmi(t[kElementsIndex]) || !IsSmi(t[kDeletedIndex]) ||
      !IsSmi(t[kBucketsIndex])) {
    return 0;
  }
  const int64_t length = SmiValue(t[kTableLengthIndex]);
  const int64_t used = SmiValue(t[kElementsIndex]) + SmiValue(t[kDeletedIndex]);
  const int64_t buckets = SmiValue(t[kBucketsIndex]);
  if (used < 0 || buckets < 0 || kBucketsStart + buckets + used * kEntrySize > 2 + length) {
    return 0;  // not the layout we know: no label rather than a wild read
  }
  const uintptr_t* entries = t + kBucketsStart + buckets;
  for (int64_t i = 0; i < used; i++) {
    uintptr_t value = entries[i * kEntrySize + 1];
    if (!IsSmi(value)) continue;
    int64_t v = SmiValue(value);
    if (v >= kLabelSetTagBase && v < kLabelSetTagLimit) {
      return static_cast<int32_t>(v - kLabelSetTagBase);
    }
  }
  return 0;
}

}  // namespace

int32_t ContextFrameReader::ReadNow() const { return ReadFrame(isolate_, table_map_); }

int32_t ContextFrameReader::ReadLabelSetIdSignalSafe() const {
  // Inside a GC pause objects move: use what the prologue read.
  if (in_gc_.load(std::memory_order_relaxed)) {
    return gc_label_.load(std::memory_order_relaxed);
  }
  std::atomic_signal_fence(std::memory_order_acquire);
  return ReadNow();
}

bool ContextFrameReader::Probe(v8::Isolate* isolate, int32_t expected_id, std::string* why) {
  if (!LABELPROF_HAVE_CPED) {
    *why = "this V8 keeps no continuation-preserved embedder data on the isolate";
    return false;
  }
  uintptr_t frame = CurrentFrame(isolate);
  if (!IsHeapObject(frame)) {
    *why = "no AsyncContextFrame in the continuation-preserved embedder data";
    return false;
  }
  uintptr_t table = Fields(frame)[kJSMapTableIndex];
  if (!IsHeapObject(table)) {
    *why = "the AsyncContextFrame has no hash table where expected";
    return false;
  }
  uintptr_t table_map = Fields(table)[0];
  int32_t found = ReadFrame(isolate, table_map);
  if (found != expected_id) {
    *why = "reading the AsyncContextFrame gave label set " + std::to_string(found) +
           " instead of " + std::to_string(expected_id);
    return false;
  }
  isolate_ = isolate;
  table_map_ = table_map;
  return true;
}

void ContextFrameReader::OnGcPrologue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  auto* self = static_cast<ContextFrameReader*>(data);
  self->gc_label_.store(self->ReadNow(), std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_release);
  self->in_gc_.store(true, std::memory_order_relaxed);
}

void ContextFrameReader::OnGcEpilogue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  auto* self = static_cast<ContextFrameReader*>(data);
  std::atomic_signal_fence(std::memory_order_release);
  self->in_gc_.store(false, std::memory_order_relaxed);
}

void ContextFrameReader::Attach() {
  if (attached_ || isolate_ == nullptr) return;
  isolate_->AddGCPrologueCallback(OnGcPrologue, this);
  isolate_->AddGCEpilogueCallback(OnGcEpilogue, this);
  attached_ = true;
}

void ContextFrameReader::Detach() {
  if (!attached_) return;
  isolate_->RemoveGCPrologueCallback(OnGcPrologue, this);
  isolate_->RemoveGCEpilogueCallback(OnGcEpilogue, this);
  attached_ = false;
}

}  // namespace labelprof
