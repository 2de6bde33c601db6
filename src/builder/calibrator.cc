// engine/calibrator.h: names of the calibration algorithms.
#include "engine/calibrator.h"

namespace engine {

const char* CalibrationAlgorithmName(CalibrationAlgorithm algorithm) {
  switch (algorithm) {
    case CalibrationAlgorithm::kEntropy: return "entropy";
    case CalibrationAlgorithm::kMinMax: return "minmax";
    case CalibrationAlgorithm::kPercentile: return "percentile";
  }
  return "unknown";
}

}  // namespace engine
