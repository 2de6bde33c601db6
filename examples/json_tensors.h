// JSON encoding of the example server's tensors (examples/server.cc): the
// request parser (JSON body -> input tensors) and the answer encoder (output
// tensors -> JSON). Only the engine's public types are used, so the fuzz
// target fuzz/request_parser_fuzzer.cc and tests/examples/ compile this file
// inside the main build as well.
#ifndef ENGINE_EXAMPLES_JSON_TENSORS_H_
#define ENGINE_EXAMPLES_JSON_TENSORS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/tensor.h"
#include "engine/types.h"

namespace engine_example {

/// Parses the body of a JSON inference request,
///
///   {"inputs": {"<name>": [v0, v1, ...], ...}}
///
/// into one tensor per entry of `inputs` (same order, dtype and shape).
///
/// Rules (each violation is an InvalidArgument error naming the input, the
/// element index and the offending value, cut to 32 bytes):
///  - the body is one JSON object (RFC 8259) whose only key is "inputs", an
///    object with exactly one entry per engine input (unknown names and
///    duplicates are refused);
///  - each value is a flat array of exactly NumElements(shape) numbers in
///    row-major order (a nested array is refused: flatten it);
///  - float32: any JSON number of magnitude <= 3.4028235e38 (FLT_MAX);
///    integers are converted to the nearest float;
///  - int8, uint8, int32, int64: integers within the dtype's range; a number
///    with a fraction is refused (2.0 is taken as 2);
///  - bool: true, false, 0 or 1;
///  - non-finite numbers are refused: NaN and Infinity are not JSON (the
///    error says so and suggests raw bytes), and a number that overflows a
///    double (1e999) is refused as such; strings ("nan", "inf") are not
///    numbers;
///  - other dtypes (float16): Unimplemented (send raw bytes).
///
/// Memory: a streaming (SAX) parse that writes each number straight into its
/// tensor; no document tree. Peak use is the tensors' bytes plus the largest
/// single token of the body, whatever the body's nesting or element count.
absl::StatusOr<std::vector<engine::Tensor>> ParseJsonInputs(
    std::string_view body, const std::vector<engine::TensorDesc>& inputs);

/// Appends `t` as the JSON object {"dtype": "<name>", "shape": [...],
/// "data": [...]} to `*out`, `data` flat in row-major order.
///
/// Encoding rule: float32 elements are the shortest decimal that reads back
/// as the same double (hence the same float), -0 as -0.0; a non-finite
/// element, for which JSON has no literal, is the string "nan", "inf" or
/// "-inf" (Python's float() and numpy read these strings). Integers are
/// decimal, bool true/false.
/// Errors: Unimplemented for a dtype without a JSON encoding (float16); `*out`
/// is then left as it was.
absl::Status AppendJsonTensor(const engine::Tensor& t, std::string* out);

/// Appends `s` as a JSON string literal (quoted and escaped; bytes that are
/// not valid UTF-8 become U+FFFD).
void AppendJsonString(std::string_view s, std::string* out);

/// "'name' float 1x3x224x224 (602112 bytes)", for messages.
std::string DescribeTensor(const engine::TensorDesc& d);

/// `s` made safe for an error message: at most `max_bytes` bytes of it, each
/// byte outside printable ASCII as \xNN, and "..." when it was cut.
std::string Printable(std::string_view s, size_t max_bytes = 64);

}  // namespace engine_example

#endif  // ENGINE_EXAMPLES_JSON_TENSORS_H_
