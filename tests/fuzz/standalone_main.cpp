// Runs a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer:
// every file named on the command line, and every file under every directory
// named (recursively, in sorted order). This is how the seed corpora and the
// regression inputs run as ordinary tests in the gcc and sanitizer builds.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace fs = std::filesystem;

namespace {

bool run_file(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  // A copy of exactly the file's size, so that ASan sees a read past its end.
  auto *copy = new uint8_t[bytes.size() + (bytes.empty() ? 1 : 0)];
  std::copy(bytes.begin(), bytes.end(), copy);
  LLVMFuzzerTestOneInput(copy, bytes.size());
  delete[] copy;
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  size_t runs = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> files;
      for (const auto &entry : fs::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto &file : files) {
        std::printf("%s\n", file.c_str());
        std::fflush(stdout);
        ok = run_file(file) && ok;
        ++runs;
      }
    } else if (fs::exists(arg, ec)) {
      ok = run_file(arg) && ok;
      ++runs;
    }
    // A directory that does not exist (no regression inputs yet) is no error.
  }
  std::printf("%zu inputs run\n", runs);
  if (runs == 0) {
    std::fprintf(stderr, "no input files given\n");
    return 1;
  }
  return ok ? 0 : 1;
}
