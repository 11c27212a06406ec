{
  "targets": [
    {
      "target_name": "labelprof",
      "sources": [
        "native/addon.cc",
        "native/profiler.cc",
        "native/signal-handler.cc",
        "native/v8-sampler.cc",
        "native/sample-matcher.cc",
        "native/sample-assembly.cc",
        "native/context-frame.cc",
        "native/stack-walker.cc",
        "native/unwind-table.cc",
        "native/dwarf-cfi.cc",
        "native/demangle.cc",
        "native/elf-symbols.cc",
        "native/symbolizer.cc",
        "native/exit-signals.cc",
        "native/thread-cpu-clock.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # SWALLOW_UNTHROWABLE: a Worker terminated while a native call runs
      # cannot take an exception; without it node-addon-api aborts the process.
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED",
                  "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      # Frame pointers stay in so that the native walk (and perf) can unwind
      # through our own code, which runs beneath the handler.
      "cflags": ["-fno-omit-frame-pointer", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-fno-omit-frame-pointer", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
