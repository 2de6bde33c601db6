// Parsing and validation of trtexec_like's command line
// (tools/trtexec_like/options.h): every rejected value names its flag.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "trtexec_like/options.h"

namespace trtexec_like {
namespace {

namespace fs = std::filesystem;

// An (empty) model file: validation checks that --onnx exists, not what it holds.
std::string ModelPath() {
  static const fs::path p = [] {
    const fs::path dir =
        fs::temp_directory_path() / ("engine_tools_options_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "m.onnx") << "";
    return dir / "m.onnx";
  }();
  return p.string();
}

// ParseCommandLine of `args` after --onnx=<model>; REQUIREs that it parses.
Options Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "--onnx=" + ModelPath());
  ParsedCommandLine<Options> parsed = ParseCommandLine(args);
  INFO(parsed.message);
  REQUIRE_FALSE(parsed.exit_code.has_value());
  return parsed.options;
}

// The error ValidateOptions gives for `args` (REQUIREs one).
std::string Rejection(const std::vector<std::string>& args) {
  auto v = ValidateOptions(Parse(args));
  REQUIRE_FALSE(v.ok());
  return std::string(v.status().message());
}

TEST_CASE("ValidateOptions accepts the defaults and parses the lists", "[tools][options]") {
  auto v = ValidateOptions(Parse({"--shapes=x:1x3x8x8", "--passes=fold-constants, fuse-activation",
                                  "--percentile=50,99.9", "--loadInputs=x:in.npy",
                                  "--objective=EDP"}));
  REQUIRE(v.ok());
  CHECK(v->shapes.at("x") == engine::Dims{1, 3, 8, 8});
  CHECK(v->passes == std::vector<std::string>{"fold-constants", "fuse-activation"});
  CHECK(v->percentiles == std::vector<double>{50, 99.9});
  REQUIRE(v->load_inputs.size() == 1);
  CHECK(v->load_inputs[0] == std::pair<std::string, std::string>{"x", "in.npy"});
  CHECK(v->objective == engine::Objective::kEdp);
  REQUIRE(v->hardware.has_value());
  CHECK(v->hardware->name == "edge");
  CHECK(v->sweep.empty());
}

TEST_CASE("Every numeric flag is checked against its range, naming the flag", "[tools][options]") {
  struct Case {
    std::string arg;
    std::string needle;
  };
  const Case cases[] = {
      {"--duration=-1", "--duration=-1: expected a number of seconds in [0, 86400]"},
      {"--duration=nan", "--duration=nan"},
      {"--duration=inf", "--duration=inf"},
      {"--duration=1e300", "--duration=1e+300"},
      {"--warmUp=-5", "--warmUp=-5: expected a number of milliseconds in [0, 3600000]"},
      {"--accuracyGuard=nan", "--accuracyGuard=nan: expected a number of dB in [0, 200]"},
      {"--calibImages=-1", "--calibImages=-1: expected an integer in [0, 1000000000] (samples)"},
      {"--calibBatches=-3", "--calibBatches=-3"},
      {"--evalImages=-1", "--evalImages=-1"},
      {"--iterations=0", "--iterations=0: expected an integer in [1, 1000000000]"},
      {"--threads=0", "--threads=0: expected an integer in [1, 4096] (threads)"},
      {"--threads=5000", "--threads=5000"},
      {"--optLevel=4", "--optLevel=4: expected an integer in [0, 3]"},
      {"--arenaAlignment=4", "--arenaAlignment=4: expected an integer in [8, 4096]"},
      {"--arenaAlignment=48", "--arenaAlignment=48: expected a power of two in [8, 4096]"},
      {"--seed=-1", "--seed=-1"},
      {"--calibPercentile=0", "--calibPercentile=0: expected a number in (0, 100]"},
      {"--calibPercentile=100.5", "--calibPercentile=100.5"},
      {"--compareTop=-1", "--compareTop=-1: expected an integer in [0, 1000000] (rows (0: all))"},
      {"--atol=-1", "--atol=-1"},
      {"--rtol=nan", "--rtol=nan"},
  };
  for (const Case& c : cases) {
    INFO(c.arg);
    const std::string msg = Rejection({c.arg});
    CHECK(absl::StrContains(msg, c.needle));
  }
  // The bounds themselves are accepted.
  CHECK(ValidateOptions(Parse({"--duration=86400", "--warmUp=0", "--threads=1",
                               "--calibPercentile=100", "--arenaAlignment=4096"}))
            .ok());
}

TEST_CASE("A number CLI11 cannot convert is a parse error naming the flag", "[tools][options]") {
  for (const char* arg : {"--iterations=1e300", "--iterations=2.5", "--threads=abc",
                          "--calibImages=1e300"}) {
    INFO(arg);
    ParsedCommandLine<Options> parsed = ParseCommandLine({arg});
    REQUIRE(parsed.exit_code.has_value());
    CHECK(*parsed.exit_code != 0);
    const std::string flag = std::string(arg).substr(0, std::string(arg).find('='));
    CHECK(absl::StrContains(parsed.message, flag));
  }
}

TEST_CASE("An empty value is an error, not the next argument", "[tools][options]") {
  ParsedCommandLine<Options> eq = ParseCommandLine({"--loadInputs=", "--iterations=1"});
  REQUIRE(eq.exit_code.has_value());
  CHECK(*eq.exit_code != 0);
  CHECK(absl::StrContains(eq.message, "--loadInputs: empty value"));
  CHECK(eq.options.load_inputs.empty());

  ParsedCommandLine<Options> sep = ParseCommandLine({"--hw", "", "--skipInference"});
  REQUIRE(sep.exit_code.has_value());
  CHECK(absl::StrContains(sep.message, "--hw: empty value"));

  // Flags take no value; "--verbose=" is not an empty value.
  CHECK_FALSE(ParseCommandLine({"--verbose"}).exit_code.has_value());
}

TEST_CASE("A flag given twice is a parse error", "[tools][options]") {
  ParsedCommandLine<Options> parsed = ParseCommandLine({"--shapes=x:1", "--shapes=x:2"});
  REQUIRE(parsed.exit_code.has_value());
  CHECK(*parsed.exit_code != 0);
  CHECK(absl::StrContains(parsed.message, "--shapes"));
}

TEST_CASE("List flags refuse empty and duplicate items, naming the tensor", "[tools][options]") {
  CHECK(absl::StrContains(Rejection({"--passes=,,"}), "--passes=',,': empty item"));
  CHECK(absl::StrContains(Rejection({"--percentile=90,,99"}), "--percentile"));
  CHECK(absl::StrContains(Rejection({"--percentile=0"}), "--percentile value '0' must be in (0, 100]"));
  CHECK(absl::StrContains(Rejection({"--shapes=x:1x2,x:1x3"}), "--shapes: input 'x' is given twice"));
  CHECK(absl::StrContains(Rejection({"--shapes=x:1xa"}), "'a' is not a dimension"));
  CHECK(absl::StrContains(Rejection({"--loadInputs=x:a.pb,x:b.pb"}),
                          "--loadInputs: tensor 'x' is given twice"));
  CHECK(absl::StrContains(Rejection({"--loadInputs=a.pb,b.pb"}),
                          "--loadInputs: more than one item without a name"));
  CHECK(absl::StrContains(Rejection({"--loadInputs=x:"}), "--loadInputs item 'x:': empty file name"));
  CHECK(absl::StrContains(Rejection({"--loadRefOutputs=y:a.pb,y:b.pb"}),
                          "--loadRefOutputs: tensor 'y' is given twice"));
  CHECK(absl::StrContains(Rejection({"--int8", "--layerPrecisions=a:fp32,a:int8"}),
                          "--layerPrecisions: layer 'a' is given twice"));
  CHECK(absl::StrContains(Rejection({"--int8", "--layerPrecisions=a:fp64"}),
                          "unknown precision 'fp64'"));
}

TEST_CASE("ValidateOptions checks the flags against each other", "[tools][options]") {
  CHECK(absl::StrContains(Rejection({"--loadEngine=" + ModelPath()}),
                          "give exactly one of --onnx=<model.onnx> and --loadEngine=<plan>"));
  CHECK(absl::StrContains(Rejection({"--calibData=images"}), "need --int8"));
  CHECK(absl::StrContains(Rejection({"--int8", "--calibrator=median"}),
                          "--calibrator: unknown calibrator 'median'"));
  CHECK(absl::StrContains(Rejection({"--objective=speed"}), "--objective 'speed'"));
  CHECK(absl::StrContains(Rejection({"--hw=nonexistent"}), "nonexistent"));
  CHECK(absl::StrContains(Rejection({"--preprocess=resize=abc"}), "--preprocess: "));
  CHECK(absl::StrContains(Rejection({"--exportReportDir=d"}), "--exportReportDir is used with --hwSweep"));
  CHECK(absl::StrContains(Rejection({"--hwSweep=array=16x16", "--saveEngine=p.plan"}),
                          "--saveEngine cannot be used with it"));
  CHECK(absl::StrContains(Rejection({"--exportTrace=/no/such/dir/t.json"}),
                          "cannot write --exportTrace file '/no/such/dir/t.json'"));

  ParsedCommandLine<Options> missing = ParseCommandLine({"--onnx=/no/such/model.onnx"});
  REQUIRE_FALSE(missing.exit_code.has_value());
  auto v = ValidateOptions(missing.options);
  REQUIRE_FALSE(v.ok());
  CHECK(absl::StrContains(v.status().message(), "--onnx: file '/no/such/model.onnx' does not exist"));

  auto sweep = ValidateOptions(Parse({"--hwSweep=array=16x16|32x32"}));
  REQUIRE(sweep.ok());
  CHECK(sweep->sweep.size() == 2);
}

TEST_CASE("Ranges are documented in --help", "[tools][options]") {
  ParsedCommandLine<Options> help = ParseCommandLine({"--help"});
  REQUIRE(help.exit_code.has_value());
  CHECK(*help.exit_code == 0);
  for (const NumericRange& r : NumericRanges()) {
    INFO(r.flag);
    CHECK(absl::StrContains(help.message, r.flag));
    CHECK(absl::StrContains(help.message, DescribeRange(r)));
  }
  REQUIRE(FindNumericRange("--threads") != nullptr);
  CHECK(DescribeRange(*FindNumericRange("--threads")) == "an integer in [1, 4096] (threads)");
  CHECK(FindNumericRange("--onnx") == nullptr);
  CHECK(CheckRange(*FindNumericRange("--iterations"), 1.5).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("compare and inspect parse their arguments", "[tools][options]") {
  auto ok = ParseCompareCommandLine({"a.json", "b.json", "--top=3", "--html=p.html"});
  REQUIRE_FALSE(ok.exit_code.has_value());
  CHECK(ok.options.reports == std::vector<std::string>{"a.json", "b.json"});
  CHECK(ok.options.top == 3);
  CHECK(ok.options.html == "p.html");
  CHECK(ok.command == "trtexec_like compare a.json b.json --top=3 --html=p.html");

  auto one = ParseCompareCommandLine({"a.json"});
  REQUIRE(one.exit_code.has_value());
  CHECK(*one.exit_code != 0);
  auto negative = ParseCompareCommandLine({"a.json", "b.json", "--top=-1"});
  REQUIRE(negative.exit_code.has_value());
  CHECK(absl::StrContains(negative.message, "--top"));
  auto empty = ParseCompareCommandLine({"a.json", "b.json", "--json="});
  REQUIRE(empty.exit_code.has_value());
  CHECK(absl::StrContains(empty.message, "--json: empty value"));

  auto inspect = ParseInspectCommandLine({"p.plan"});
  REQUIRE_FALSE(inspect.exit_code.has_value());
  CHECK(inspect.options.plan == "p.plan");
  CHECK(ParseInspectCommandLine({}).exit_code.has_value());
}

TEST_CASE("memPoolSize: trtexec's pool:size, workspace only, MiB or a suffix", "[tools][options]") {
  CHECK(*ParseMemPoolSize("workspace:1024") == int64_t{1024} << 20);
  CHECK(*ParseMemPoolSize("workspace:0.5") == int64_t{512} << 10);
  CHECK(*ParseMemPoolSize("workspace:64K") == int64_t{64} << 10);
  CHECK(*ParseMemPoolSize("workspace:2G") == int64_t{2} << 30);
  CHECK(*ParseMemPoolSize("workspace:100B") == 100);
  struct Case {
    std::string spec, needle;
  };
  for (const Case& c : {Case{"dlaSRAM:1", "pool 'dlaSRAM' is not modeled"},
                        Case{"workspace", "expected pool:size"},
                        Case{"workspace:-1", "the size must be"},
                        Case{"workspace:abc", "the size must be"},
                        Case{"workspace:1,workspace:2", "given twice"}}) {
    INFO(c.spec);
    auto r = ParseMemPoolSize(c.spec);
    REQUIRE_FALSE(r.ok());
    CHECK(absl::StrContains(r.status().message(), c.needle));
    CHECK(absl::StrContains(r.status().message(), "--memPoolSize"));
  }
  // Through ValidateOptions: replaces --maxArenaBytes.
  auto v = ValidateOptions(Parse({"--memPoolSize=workspace:16"}));
  REQUIRE(v.ok());
  CHECK(v->workspace_bytes == int64_t{16} << 20);
  CHECK_FALSE(ValidateOptions(Parse({"--memPoolSize=tacticSharedMem:1"})).ok());
}

}  // namespace
}  // namespace trtexec_like
