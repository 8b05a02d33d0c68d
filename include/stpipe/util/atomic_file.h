// Atomic file replacement: write to a temporary file beside the target, then rename over it.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace stpipe {

/// Calls `writer(tmp_path)` to write a temporary file in the target's directory, then renames it
/// over `target`. On any exception the temporary is removed and the target is left untouched.
/// Throws IoError if the rename fails; rethrows whatever `writer` throws.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path& tmp)>& writer);

/// Writes `text` to `target` atomically. Throws IoError.
void write_text_atomically(const std::filesystem::path& target, const std::string& text);

/// Reads a whole file. Throws IoError naming the file when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace stpipe
