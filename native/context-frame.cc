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

// Map fields (V8's Map layout, stable across V8 11-14): the instance size
// in words is the byte after the map word; the instance type's offset is
// public for the embedder API's inline accessors.
constexpr int kMapInstanceSizeInWordsOffset = v8::internal::kApiTaggedSize;
inline uint8_t InstanceSizeInWords(uintptr_t map) {
  return reinterpret_cast<const uint8_t*>(map - 1)[kMapInstanceSizeInWordsOffset];
}
inline uint16_t InstanceType(uintptr_t map) {
  return *reinterpret_cast<const uint16_t*>(reinterpret_cast<const uint8_t*>(map - 1) +
                                            I::kMapInstanceTypeOffset);
}
inline uintptr_t SmiWord(int64_t value) { return static_cast<uintptr_t>(value) << 32; }

// Called in the signal handler (through ReadFrame): no allocation, no lock.
// The label-set id if `value` is one of labelprof's LabelSet objects, else -1.
// Every word read lies inside `value` or its map: the map word is any heap
// object's first word, and the fields are read only when the map says the
// object is a plain JS object at least that large.
int32_t IdOfStoreValue(uintptr_t value, const StoreLayout& l) {
  if (!IsHeapObject(value)) return -1;
  const uintptr_t* o = Fields(value);
  const uintptr_t map = o[0];
  if (!IsHeapObject(map)) return -1;
  if (InstanceType(map) != l.instance_type) return -1;
  if (InstanceSizeInWords(map) <= l.tag_index) return -1;
  if (o[l.magic_index] != SmiWord(l.magic)) return -1;
  const uintptr_t tag = o[l.tag_index];
  if (!IsSmi(tag)) return -1;
  const int64_t v = SmiValue(tag);
  if (v < l.tag_base || v >= l.tag_base + kLabelSetIdLimit) return -1;
  return static_cast<int32_t>(v - l.tag_base);
}

// Called in the signal handler (through ReadLabelSetIdSignalSafe): no
// allocation, no lock. Reads only words of live heap objects the isolate
// reaches from its roots, after checking each is what it should be.
int32_t ReadFrame(v8::Isolate* isolate, const StoreLayout& layout) {
  uintptr_t frame = CurrentFrame(isolate);
  if (!IsHeapObject(frame)) return 0;
  // `undefined` (no frame) is an Oddball: its fourth word is a number
  // field, never a pointer to an OrderedHashMap, so the map check below
  // turns it away as well.
  uintptr_t table = Fields(frame)[kJSMapTableIndex];
  if (!IsHeapObject(table)) return 0;
  const uintptr_t* t = Fields(table);
  if (t[0] != layout.table_map) return 0;
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
    int32_t id = IdOfStoreValue(entries[i * kEntrySize + 1], layout);
    if (id >= 0) return id;
  }
  return 0;
}

// Isolate thread, in Probe: finds the LabelSet the probe stored and learns
// where its magic and tag sit. The probe's set is a fresh object made by the
// LabelSet constructor, so its layout is every LabelSet's.
bool LearnStoreLayout(uintptr_t table, int32_t expected_id, StoreLayout* l, std::string* why) {
  const uintptr_t* t = Fields(table);
  const int64_t used = SmiValue(t[kElementsIndex]) + SmiValue(t[kDeletedIndex]);
  const int64_t buckets = SmiValue(t[kBucketsIndex]);
  const uintptr_t* entries = t + kBucketsStart + buckets;
  for (int64_t i = 0; i < used; i++) {
    uintptr_t value = entries[i * kEntrySize + 1];
    if (!IsHeapObject(value)) continue;
    const uintptr_t* o = Fields(value);
    const uintptr_t map = o[0];
    const int words = InstanceSizeInWords(map);
    // JSObject: map, properties, elements, then in-object fields.
    for (int k = 3; k + 1 < words && k < 16; k++) {
      if (o[k] == SmiWord(l->magic) && o[k + 1] == SmiWord(l->tag_base + expected_id)) {
        l->instance_type = InstanceType(map);
        l->magic_index = k;
        l->tag_index = k + 1;
        return true;
      }
    }
  }
  *why = "no LabelSet with in-object magic and tag fields in the AsyncContextFrame";
  return false;
}

}  // namespace

void ContextFrameReader::PrefetchSignalSafe() const {
  if (isolate_ == nullptr) return;
  // Only the slot's word is read; the frame it names is only prefetched (a
  // prefetch never faults, even mid-GC when the word may be stale).
  const uintptr_t frame = CurrentFrame(isolate_);
  if (IsHeapObject(frame)) __builtin_prefetch(Fields(frame) + kJSMapTableIndex);
}

int32_t ContextFrameReader::ReadNow() const { return ReadFrame(isolate_, layout_); }

int32_t ContextFrameReader::ReadLabelSetIdSignalSafe() const {
  // Inside a GC pause objects move: use what the prologue read.
  if (in_gc_.load(std::memory_order_relaxed)) {
    return gc_label_.load(std::memory_order_relaxed);
  }
  std::atomic_signal_fence(std::memory_order_acquire);
  return ReadNow();
}

bool ContextFrameReader::Probe(v8::Isolate* isolate, int32_t expected_id, int32_t magic,
                               int32_t tag_base, std::string* why) {
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
  StoreLayout layout;
  layout.table_map = Fields(table)[0];
  layout.magic = magic;
  layout.tag_base = tag_base;
  if (!IsSmi(Fields(table)[kElementsIndex]) || !IsSmi(Fields(table)[kBucketsIndex]) ||
      !IsSmi(Fields(table)[kDeletedIndex])) {
    *why = "the AsyncContextFrame's hash table has an unknown layout";
    return false;
  }
  if (!LearnStoreLayout(table, expected_id, &layout, why)) return false;
  int32_t found = ReadFrame(isolate, layout);
  if (found != expected_id) {
    *why = "reading the AsyncContextFrame gave label set " + std::to_string(found) +
           " instead of " + std::to_string(expected_id);
    return false;
  }
  isolate_ = isolate;
  layout_ = layout;
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
