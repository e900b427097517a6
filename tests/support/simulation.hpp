// A single-scenario simulation built from YAML text: the experiment loaded
// with engine::load_experiment_text and the ScenarioPlan of its first
// scenario, with outcome lookup and a whole-path run.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/engine/config_loader.hpp"
#include "framework/engine/scenario_plan.hpp"
#include "framework/engine/world.hpp"

namespace defisim::test_support {

struct Sim {
  defisim::engine::Experiment experiment;
  std::unique_ptr<defisim::engine::ScenarioPlan> plan;

  explicit Sim(const std::string& yaml) : experiment(defisim::engine::load_experiment_text(yaml, "test.yaml")) {
    plan = std::make_unique<defisim::engine::ScenarioPlan>(experiment.scenarios.front().spec);
  }
  const defisim::engine::ScenarioSpec& spec() const { return *plan->spec; }

  // Index of the outcome metric `name` (fails the test if there is none).
  std::size_t outcome(const std::string& name) const {
    for (std::size_t i = 0; i < plan->outcome_metrics.size(); ++i) {
      if (plan->outcome_metrics[i].name == name) return i;
    }
    FAIL("no outcome metric " << name);
    return 0;
  }

  // Runs path `path` to the end and returns its outcomes.
  std::vector<double> run_outcomes(std::uint64_t path) const {
    defisim::engine::World world(*plan, path);
    std::vector<double> series(plan->series_values_per_path());
    std::vector<double> outcomes(plan->outcome_metrics.size());
    world.run(series, outcomes);
    return outcomes;
  }
};

}  // namespace defisim::test_support
