#pragma once
// The Agent interface. Agents are an open set: a researcher adds a strategy by
// writing a class here and one entry in agents/registry.cpp.
//
// An agent decides and sends transactions; it never writes to a market or a
// wallet. Per block it reads a View and may submit transactions; it hears
// back through receipts. It must not allocate, throw or look anything up by
// name per block: resolve names in its params (AgentType::parse) and size its
// buffers in its constructor.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agents/view.hpp"
#include "agents/wake.hpp"
#include "framework/core/rng.hpp"
#include "framework/output/metric.hpp"

namespace defisim::agents {

struct AgentContext {
  core::AgentIndex index = 0;   // this agent's account and RNG stream
  std::uint64_t seed = 0;
  std::uint64_t path = 0;       // global path index
};

class Agent {
 public:
  virtual ~Agent() = default;

  // Once, before block 1 (e.g. an LP's deposit). Its transactions execute in
  // block 0, which has no price step.
  virtual void start(const View& /*view*/, TransactionSink& /*sink*/) {}
  // Every block, after the price step and oracle update.
  virtual void act(const View& view, TransactionSink& sink) = 0;
  // Asked after an act() that submitted nothing: may the engine skip act()
  // until one of `wake`'s conditions holds (see agents/wake.hpp)? Fill
  // `wake` (it arrives empty) and return true, or return false to be called
  // next block as usual.
  virtual bool idle_until(const View& /*view*/, WakeConditions& /*wake*/) { return false; }
  // Each of this agent's transactions, executed or reverted, in block order.
  virtual void on_receipt(const core::Receipt& /*receipt*/, const View& /*view*/) {}

  // Fill this agent's series values (in the order of AgentParams::series_metrics)
  // at a record sample, and its outcomes at the end of the path.
  virtual void record(const View& /*view*/, std::span<double> /*series*/) {}
  virtual void finish(const View& /*view*/, std::span<double> /*outcomes*/) {}
};

// An agent's validated, immutable parameters (names already resolved to
// indices). One per agent entry in the config; shared by all paths.
class AgentParams {
 public:
  virtual ~AgentParams() = default;
  virtual std::unique_ptr<Agent> create(const AgentContext& context) const = 0;
  // Metric names without the agent-id prefix (the engine adds "<id>.").
  virtual std::vector<output::MetricInfo> series_metrics() const { return {}; }
  virtual std::vector<output::MetricInfo> outcome_metrics() const { return {}; }
  // Agents that read the public mempool (searchers) act after all others in
  // each block, so they see all of it; the rest act in config order.
  virtual bool watches_mempool() const { return false; }
  // The most transactions start() submits, when more than a block's
  // capacity (chain.max_transactions_per_block): block 0 is sized for them.
  virtual std::uint32_t start_transactions() const { return 0; }
  // Tokens the agent's wallet starts with, per asset (drawn from the
  // reference venue at the start of each path).
  virtual std::vector<double> initial_wallet(std::size_t asset_count) const {
    return std::vector<double>(asset_count, 0.0);
  }
};

}  // namespace defisim::agents
