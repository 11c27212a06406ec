{
  "targets": [
    {
      # Test-only addon: the native-frames pieces (CFI table, signal-safe
      # walk, demangling) plus named burners and a stand-alone SIGPROF
      # sampler, so they are tested without the profiler core; and the pure
      # matcher and sample assembly, driven with hand-made records.
      "target_name": "labelprof_test_native",
      "sources": [
        "../../native/dwarf-cfi.cc",
        "../../native/unwind-table.cc",
        "../../native/stack-walker.cc",
        "../../native/demangle.cc",
        "../../native/sample-matcher.cc",
        "../../native/sample-assembly.cc",
        "burners.cc",
        "test-sampler.cc",
        "test-matching.cc",
        "test-addon.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags": ["-fno-omit-frame-pointer", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-fno-omit-frame-pointer", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
