{
  "targets": [
    {
      "target_name": "intuitor_native",
      "sources": [
        "src/addon.cc",
        "src/args.cc",
        "src/creation.cc",
        "src/ops-math.cc",
        "src/ops-shape.cc",
        "src/nn.cc",
        "src/autograd.cc",
        "src/certainty.cc",
        "src/linear-logprob.cc",
        "src/runtime.cc",
        "src/distributed.cc",
        "src/distributed-init.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node ../scripts/find-libtorch.mjs include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "<!@(node ../scripts/find-libtorch.mjs defines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "-L<!(node ../scripts/find-libtorch.mjs libdir)",
        "<!@(node ../scripts/find-libtorch.mjs ldflags)",
        "<!@(node ../scripts/find-libtorch.mjs libs)"
      ]
    }
  ]
}
