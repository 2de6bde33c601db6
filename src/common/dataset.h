// Datasets of model inputs for INT8 calibration and accuracy evaluation:
// directories of images (decoded with stb_image, resized with
// stb_image_resize), directories of tensor files (.pb / .npy), and MNIST IDX
// files, with optional labels (IDX, CSV, or text).
//
// Typical use (trtexec_like --calibData / --evalData):
//
//   auto pp = data::ParseImagePreprocess("imagenet");        // or a key=value list
//   data::DatasetOptions opts;
//   opts.preprocess = *pp;
//   auto ds = data::Dataset::Open(dir, engine_input_desc, opts);
//   for (int64_t b = 0; b < (*ds)->num_batches(); ++b) {
//     auto batch = (*ds)->GetBatch(b);   // [N, C, H, W] float32
//     ...
//   }
#ifndef ENGINE_COMMON_DATASET_H_
#define ENGINE_COMMON_DATASET_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/tensor.h"
#include "engine/types.h"

namespace engine::data {

/// How decoded 8-bit images become model input, in this order:
///  1. channel conversion to the model's channel count C (from the input
///     shape): grayscale -> 3 channels replicates the gray value; colour -> 1
///     channel is the luminance L = (19595 R + 38470 G + 7471 B + 32768) >> 16
///     (PIL's convert("L"), ITU-R 601-2); an alpha channel is dropped;
///  2. geometry (see ComputeGeometry): with `resize` > 0 the shorter side is
///     resized to `resize` keeping the aspect ratio (torchvision's
///     Resize(int)), then a centred crop of the model's H x W is taken
///     (torchvision's CenterCrop: zero padding where the crop leaves the
///     image); with `resize` == 0 the image is resized directly to H x W (no
///     resampling when it already is H x W). Resampling is stb_image_resize's
///     triangle (bilinear) filter on 8-bit values, which widens with the scale
///     factor when shrinking (antialiased, like PIL's BILINEAR that
///     torchvision uses on PIL images), with clamped edges;
///  3. value = (pixel * scale - mean[c]) / stddev[c], pixel in 0..255, c the
///     *output* channel index (so with kBGR, mean[0] applies to blue);
///  4. channel order and layout of the output tensor.
/// Output values are float32 (float16 for a float16 model input, rounded to
/// nearest even); for a uint8 model input the value is rounded
/// and clamped to 0..255.
struct ImagePreprocess {
  /// Output channel order for C = 3 (ignored for C = 1).
  enum class ChannelOrder { kRGB, kBGR };
  /// Output memory layout: [N, C, H, W] or [N, H, W, C].
  enum class Layout { kNCHW, kNHWC };

  /// Shorter side in pixels after the aspect-preserving resize, before the
  /// centre crop; 0 = resize directly to the crop size (H x W of the input).
  int64_t resize = 0;
  /// Take a centred H x W crop after the resize. Must be true when resize > 0
  /// (there is no other way to reach H x W then); with resize == 0 it has no
  /// effect.
  bool center_crop = true;
  /// Multiplier applied to 0..255 pixel values first, e.g. 1/255.
  float scale = 1.0f;
  /// Per output channel, subtracted after scaling (channel 0 only for C = 1).
  std::array<float, 3> mean{0.0f, 0.0f, 0.0f};
  /// Per output channel divisor, applied after the mean (must be non-zero).
  std::array<float, 3> stddev{1.0f, 1.0f, 1.0f};
  ChannelOrder order = ChannelOrder::kRGB;
  Layout layout = Layout::kNCHW;
};

/// The "imagenet" preset, exactly torchvision's ImageNet evaluation transform:
/// resize=256 (shorter side), centre crop (size = the input's H x W, usually
/// 224), scale 1/255, mean 0.485:0.456:0.406, std 0.229:0.224:0.225, RGB, NCHW.
ImagePreprocess ImagenetPreprocess();
/// The "raw" preset (also the default ImagePreprocess{}): pixel values 0..255
/// as floats, resized directly to H x W only when the size differs (e.g. MNIST
/// 28x28 for mnist-8), RGB, NCHW.
ImagePreprocess RawPreprocess();
/// The "caffe" preset (VGG/AlexNet-style Caffe models): resize=256, centre
/// crop, scale 1, mean 103.939:116.779:123.68 (B:G:R), std 1, BGR, NCHW.
ImagePreprocess CaffePreprocess();

/// Parses a compact preprocessing specification: comma-separated items,
/// applied left to right (later items override earlier ones), whitespace
/// around items ignored, keys and names case-insensitive:
///   imagenet | raw | caffe       a preset (replaces every field)
///   resize=N                     N >= 0 (0 = resize directly to H x W)
///   crop | nocrop | crop=BOOL    centre crop on/off (BOOL: true/false/1/0/on/off)
///   scale=F                      F a number or a fraction "1/255"
///   mean=A[:B:C]                 one value (all channels) or three
///   std=A[:B:C]                  (alias stddev) non-zero
///   order=rgb|bgr
///   layout=nchw|nhwc
/// e.g. "resize=256,crop,scale=1/255,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,order=rgb,layout=nchw",
/// or "imagenet,layout=nhwc". An empty string gives RawPreprocess().
/// Errors: InvalidArgument naming the offending key (unknown key, bad or
/// missing value, wrong number of mean/std values, zero std, resize > 0 with
/// nocrop).
absl::StatusOr<ImagePreprocess> ParseImagePreprocess(const std::string& spec);

/// The canonical key=value form of `pp`, which ParseImagePreprocess turns back
/// into an equal ImagePreprocess, e.g.
/// "resize=256,crop,scale=0.003921569,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,order=rgb,layout=nchw".
std::string ImagePreprocessToString(const ImagePreprocess& pp);

/// "imagenet", "raw" or "caffe" when `pp` equals that preset (floats within
/// 1e-6 relative), otherwise ImagePreprocessToString(pp).
std::string ImagePreprocessName(const ImagePreprocess& pp);

/// Checks the fields of `pp`: resize >= 0, resize > 0 only with center_crop,
/// finite scale/mean/std, std non-zero. Errors: InvalidArgument.
absl::Status ValidateImagePreprocess(const ImagePreprocess& pp);

/// Where an image of `src_width` x `src_height` pixels goes (see
/// ImagePreprocess step 2): it is resampled to `resized_width` x
/// `resized_height` (equal to the source when no resampling happens), and
/// output pixel (y, x) is resized pixel (y + top, x + left); positions outside
/// the resized image are 0 before normalisation. With resize > 0 the longer
/// side is floor(resize * long / short) and the crop offsets are
/// round-half-to-even((resized - out) / 2) (Python's round, as torchvision),
/// or -floor((out - resized) / 2) when the crop is larger than the image.
struct ImageGeometry {
  int64_t resized_width = 0;
  int64_t resized_height = 0;
  int64_t left = 0;
  int64_t top = 0;
};
/// Computes the geometry for a source of `src_width` x `src_height` and an
/// output of `out_width` x `out_height` (all > 0).
ImageGeometry ComputeGeometry(int64_t src_width, int64_t src_height, int64_t out_width,
                              int64_t out_height, const ImagePreprocess& pp);

/// Preprocesses one 8-bit image already in memory: `pixels` holds
/// `height` x `width` pixels of `channels` (1 gray, 2 gray+alpha, 3 RGB,
/// 4 RGBA) interleaved bytes, rows top to bottom. `input` is the model input:
/// float32, float16 or uint8, rank 4, [N, C, H, W] (kNCHW) or [N, H, W, C] (kNHWC),
/// C = 1 or 3. Returns one sample of shape [1, C, H, W] / [1, H, W, C] and
/// the dtype of `input`. Errors: InvalidArgument (bad input desc, bad
/// channels or size, invalid `pp`), Internal (resampling failed).
absl::StatusOr<Tensor> PreprocessImage(const uint8_t* pixels, int64_t width, int64_t height,
                                       int channels, const TensorDesc& input,
                                       const ImagePreprocess& pp);

/// Default cap on the pixels of one image (width x height) decoded by
/// LoadImageTensor and Dataset: 2^26 = 67,108,864 pixels (8192 x 8192; 192 MiB
/// of decoded RGB). Checked from the file's header before any decoding, so a
/// decompression bomb (a small PNG declaring 100000 x 100000 pixels) is
/// refused without allocating its pixels.
inline constexpr int64_t kDefaultMaxImagePixels = int64_t{1} << 26;

/// Limits applied to the files a dataset reads.
struct ImageLimits {
  /// Largest width x height decoded (see kDefaultMaxImagePixels).
  int64_t max_pixels = kDefaultMaxImagePixels;
  /// Largest image file read, in bytes (default: 256 MiB).
  uint64_t max_file_bytes = uint64_t{256} << 20;
};

/// Width, height and channel count of the image file contents `bytes` from
/// its header only (no decoding), checked against `limits.max_pixels`.
/// `path` names the file in errors. Errors: ResourceExhausted "PATH: image
/// too large: WxH (limit N pixels, 16777216 per side)" when width x height is
/// over limits.max_pixels or a side is over stb_image's own 2^24 (such sizes
/// are read from PNG, BMP, GIF and PNM headers directly, since stb_image
/// refuses them with a generic "unknown image type"); InvalidArgument "PATH:
/// cannot decode image: REASON" with stb_image's reason when the header is not
/// an image.
absl::Status CheckImageHeader(const std::string& path, const std::string& bytes,
                              const ImageLimits& limits, int* width, int* height, int* channels);

/// Decodes the image file at `path` (JPEG baseline/progressive, PNG, BMP,
/// PGM/PPM binary, TGA, GIF first frame, as stb_image reads them; 16-bit PNGs
/// are reduced to 8 bits) and preprocesses it as PreprocessImage. The file is
/// read with ReadFileToString (regular files only, at most
/// limits.max_file_bytes) and its header checked with CheckImageHeader before
/// decoding. Errors: NotFound (missing file), InvalidArgument naming `path`
/// (not a regular file; stb_image's reason when it cannot be decoded, e.g. a
/// JPEG whose header is fine but whose data is corrupt), ResourceExhausted
/// (file over max_file_bytes, image over max_pixels), and PreprocessImage's
/// errors.
absl::StatusOr<Tensor> LoadImageTensor(const std::string& path, const TensorDesc& input,
                                       const ImagePreprocess& pp,
                                       const ImageLimits& limits = ImageLimits{});

/// Options of Dataset::Open.
struct DatasetOptions {
  /// Image preprocessing (ignored for tensor-file datasets).
  ImagePreprocess preprocess;
  /// When > 0, only the first `limit` samples (after skipping unreadable
  /// files) are used; otherwise all.
  int64_t limit = -1;
  /// false: a file that cannot be read or decoded fails Open (or Get) with an
  /// error naming it; Open checks image headers only. true: Open decodes
  /// every image it lists (with num_threads threads), so that a file whose
  /// header is fine but whose data is corrupt (a truncated or damaged JPEG),
  /// one over the limits, or one that is not a regular file is left out too;
  /// the files left out are listed by Dataset::skipped() with their reasons
  /// and counted by Describe().
  bool skip_unreadable = false;
  /// Limits on image size and on the image, IDX and label files read (a
  /// gzip'd file's decompressed size too: max_file_bytes). Tensor files are
  /// read by LoadTensorFile with the default cap kDefaultMaxFileBytes.
  ImageLimits limits;
  /// Optional labels file: an IDX label file (magic 2049, optionally gzip'd),
  /// a CSV file (".csv") whose header has a `file` (or `filename`) column
  /// and a `class_index` (or `label`) column, or a text file with either one
  /// integer label per line in sample order or "<file name> <label>" per line.
  /// When empty, an image directory's `labels.csv` is used if present (also
  /// the one beside an `images` directory), and for an MNIST file
  /// "X-images-idx3-ubyte[.gz]" the file "X-labels-idx1-ubyte[.gz]" beside it.
  std::string labels_path;
  /// Threads that decode the samples of one Batch/GetBatch call; 0 = the
  /// number of hardware threads. Each thread decodes whole samples.
  int num_threads = 0;
  /// When not empty and the dataset path is a directory: the tensor files
  /// (.pb / .npy names inside that directory) to read, in this order, instead
  /// of every tensor file listed there -- one input's files of a multi-input
  /// directory (see GroupTensorFilesByInput). Errors as for a tensor
  /// directory; a name that is not a .pb/.npy file is InvalidArgument.
  std::vector<std::string> tensor_files;
};

/// One directory of tensor files feeding a network with several inputs,
/// one file per input per sample, split by input.
struct MultiInputFiles {
  /// Sample keys in sorted (byte) order, e.g. "s000", "s001".
  std::vector<std::string> samples;
  /// Per input name: its file names (inside the directory), one per sample,
  /// in the order of `samples`.
  std::map<std::string, std::vector<std::string>> files;
};

/// Groups the tensor files (.pb ONNX TensorProto, .npy) of directory `dir`
/// by sample and engine input (`input_names`):
///  - a file named `<sample>_<input>.pb` or `<sample>_<input>.npy` feeds
///    `<input>` of sample `<sample>` (the longest input name that ends the
///    file stem after a '_' wins, so `s0_mask` and `s0_attention_mask` are
///    told apart when both are inputs);
///  - otherwise a .pb file whose TensorProto name is an input feeds that
///    input, its sample being the file stem up to its last '_' (the whole
///    stem without one), e.g. s000_0.pb named "input_ids" and s000_1.pb named
///    "attention_mask" are the two inputs of sample "s000".
/// Errors: NotFound (no such directory; no tensor files), InvalidArgument
/// naming `dir` and the file or sample: a file that feeds no input (naming
/// the inputs), two files for one input of one sample, a sample with no file
/// for an input ("sample 's001' has no file for input 'attention_mask'
/// (expected s001_attention_mask.pb or .npy)"), and LoadTensorFile's errors
/// for a .pb file whose name had to be read.
absl::StatusOr<MultiInputFiles> GroupTensorFilesByInput(const std::string& dir,
                                                        const std::vector<std::string>& input_names);

/// Status payload type URL that GroupTensorFilesByInput sets on the error of
/// a file that feeds no input (the directory is not laid out per input at
/// all), so a caller can tell it from a layout error of a per-input
/// directory without matching message text: `s.GetPayload(kUnmatchedFilePayload)`.
inline constexpr char kUnmatchedFilePayload[] = "engine.data/unmatched-file";

/// One preprocessed sample.
struct Sample {
  /// Shape = the input shape with the batch dimension set to 1 (e.g.
  /// [1, 3, 224, 224]); dtype of the input desc.
  Tensor input;
  /// Class index, or -1 when the dataset has no labels.
  int64_t label = -1;
  /// File name (without directory) for image and tensor files, "file.npy[k]"
  /// for sample k of a tensor file holding a whole batch, "mnist[i]" for
  /// MNIST image i (0-based index in the IDX file).
  std::string name;
};

/// One batch of samples as the engine takes it.
struct SampleBatch {
  /// [N, ...]: exactly the input shape. When fewer than N samples remain,
  /// the remaining rows repeat the last valid sample (harmless for
  /// calibration statistics); only the first `count` rows are real.
  Tensor input;
  /// Index of the batch's first sample.
  int64_t first = 0;
  /// Number of real samples (1..N).
  int64_t count = 0;
  /// Labels of the `count` real samples (-1 each when there are no labels).
  std::vector<int64_t> labels;
  /// Names of the `count` real samples.
  std::vector<std::string> names;
};

/// What a Dataset reads.
enum class DatasetKind { kImages, kTensors, kMnist };

/// A read-only, random-access set of preprocessed samples for one engine
/// input. Opening lists (and checks) the files; samples are decoded on demand.
/// All const methods are thread-safe.
class Dataset {
 public:
  /// Opens the dataset at `path` for the engine input `input`; the source is
  /// detected from the path:
  ///  - a directory of images (.jpg .jpeg .png .bmp .pgm .ppm, any case),
  ///    sorted by file name (byte order); a directory with no such files but
  ///    an `images` subdirectory uses that subdirectory. `input` must be rank
  ///    4 float32/float16/uint8 as described at PreprocessImage. Open checks every
  ///    image's header (CheckImageHeader), or decodes it with
  ///    skip_unreadable, until `limit` samples are found;
  ///  - a directory of tensor files (.pb ONNX TensorProto, .npy), sorted by
  ///    file name. Each file's shape must be the sample shape ([1, ...], or
  ///    the same without the leading 1), giving one sample, or the whole
  ///    input shape [N, ...], giving N samples. Its dtype must equal the
  ///    input's, or be numeric when the input is float32 (converted). Open
  ///    loads each file once to check it;
  ///  - an MNIST IDX image file (magic 2051: big-endian count, rows, cols,
  ///    then uint8 pixels; `*-idx3-ubyte`, optionally gzip'd `.gz`), or a
  ///    directory holding exactly one such file and no images/tensors;
  ///    loaded into memory whole; images are preprocessed as 1-channel images;
  ///  - a single image or tensor file (a dataset of that file).
  /// Labels: see DatasetOptions::labels_path; order-based labels (IDX, text
  /// with one integer per line) belong to sample positions counted before
  /// skipping (the k-th file in sorted order gets the k-th label).
  /// Errors: NotFound (no such path; no usable files in the directory),
  /// InvalidArgument naming the file (unreadable or undecodable file without
  /// skip_unreadable; tensor shape mismatch, naming both shapes; dtype
  /// mismatch; mixed images and tensor files; bad IDX header; bad labels file
  /// line; a sample without a label, naming it; every file skipped; input
  /// desc not usable; invalid preprocess).
  static absl::StatusOr<std::unique_ptr<Dataset>> Open(const std::string& path,
                                                       const TensorDesc& input,
                                                       const DatasetOptions& options);

  /// Number of samples (after skipping and `limit`).
  int64_t size() const { return static_cast<int64_t>(entries_.size()); }
  /// Samples per engine batch: the input's dimension 0 (N).
  int64_t batch_size() const { return input_.shape.empty() ? 1 : input_.shape[0]; }
  /// ceil(size() / batch_size()).
  int64_t num_batches() const { return (size() + batch_size() - 1) / batch_size(); }

  /// Decodes and preprocesses sample `index` (0 <= index < size()).
  /// Errors: OutOfRange (index), InvalidArgument/NotFound naming the file when
  /// it can no longer be read or decoded (e.g. a JPEG whose header was fine
  /// but whose data is corrupt, opened without skip_unreadable).
  absl::StatusOr<Sample> Get(int64_t index) const;

  /// Samples [first, first + count) stacked along dimension 0: shape
  /// [count, ...rest of the input shape], dtype of the input (count >= 1;
  /// count need not equal N). Decodes with DatasetOptions::num_threads.
  /// Errors: OutOfRange (range not inside [0, size())), Get's errors (the
  /// lowest failing index).
  absl::StatusOr<Tensor> Batch(int64_t first, int64_t count) const;

  /// Engine batch `batch_index` (0 <= batch_index < num_batches()): samples
  /// [batch_index * N, ...) as an [N, ...] tensor, the last one padded (see
  /// SampleBatch). Errors: OutOfRange, Get's errors.
  absl::StatusOr<SampleBatch> GetBatch(int64_t batch_index) const;

  /// Whether labels were loaded (then every sample has one).
  bool has_labels() const { return has_labels_; }
  /// Label of sample `index` (no decoding), -1 without labels or when out of range.
  int64_t label(int64_t index) const;
  /// Name of sample `index` (see Sample::name), "" when out of range.
  std::string name(int64_t index) const;
  /// Full paths of the files left out by skip_unreadable, in sorted order.
  const std::vector<std::string>& skipped() const { return skipped_; }
  /// Why each skipped() file was left out (same order), e.g. stb_image's
  /// "unknown image type".
  const std::vector<std::string>& skip_reasons() const { return skip_reasons_; }
  /// The kind of source.
  DatasetKind kind() const { return kind_; }
  /// The engine input this dataset was opened for.
  const TensorDesc& input_desc() const { return input_; }
  /// Shape of one sample: the input shape with dimension 0 set to 1.
  const Dims& sample_shape() const { return sample_shape_; }
  /// The labels file used ("" without labels).
  const std::string& labels_path() const { return labels_path_; }
  /// One line for logs, e.g. "450 images from DIR (imagenet preprocessing),
  /// labels from DIR/labels.csv", "10000 images from FILE (raw
  /// preprocessing), labels from FILE2", "8 tensor samples from DIR"; ends
  /// with ", N unreadable files skipped" when files were skipped.
  std::string Describe() const;

 private:
  struct Entry {
    std::string path;   // file (images, tensors); "" for MNIST
    std::string name;   // Sample::name
    int64_t sub = -1;   // row within a whole-batch tensor file, or MNIST image index; -1 = whole file
    int64_t label = -1;
  };

  Dataset() = default;
  // Decodes sample `index` into `dst` (sample-size bytes).
  absl::Status DecodeInto(int64_t index, std::byte* dst) const;
  // Decodes samples [first, first + count) into consecutive sample slots of
  // `dst` with up to options_.num_threads threads.
  absl::Status DecodeRange(int64_t first, int64_t count, std::byte* dst) const;

  DatasetKind kind_ = DatasetKind::kImages;
  std::string path_;
  TensorDesc input_;
  Dims sample_shape_;
  DatasetOptions options_;
  std::vector<Entry> entries_;
  std::vector<std::string> skipped_;
  std::vector<std::string> skip_reasons_;
  bool has_labels_ = false;
  std::string labels_path_;
  // MNIST: all images, row-major, mnist_rows_ x mnist_cols_ bytes each.
  std::vector<uint8_t> mnist_pixels_;
  int64_t mnist_rows_ = 0;
  int64_t mnist_cols_ = 0;
};

}  // namespace engine::data

#endif  // ENGINE_COMMON_DATASET_H_
