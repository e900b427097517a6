// A test agent that submits a fixed script of transactions at given blocks
// and keeps every receipt it hears of, so engine tests can put exact
// transactions (bundles, wallet swaps, long-term orders) into a World
// without writing a strategy. Added to a scenario built from YAML with
// with_scripted_agent().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agents/agent.hpp"
#include "framework/engine/experiment_spec.hpp"

namespace defisim::test_support {

struct ScriptedTransaction {
  core::BlockNumber block = 1;  // 0: submitted in start()
  core::Transaction transaction;
  // Resolve bundle_target to this block's mempool position of the
  // transaction with this tag (from any sender), if set.
  bool target_by_tag = false;
  std::uint32_t target_tag = 0;
};

// Receipts heard by each scripted agent, shared with the test.
struct ScriptLog {
  std::vector<core::Receipt> receipts;
  std::vector<std::size_t> mempool_sizes_seen;  // per act() call: the public mempool it saw
  std::function<void(const agents::View&)> on_act;  // optional: a test's look at the View each block
};

class ScriptedAgent final : public agents::Agent {
 public:
  ScriptedAgent(std::vector<ScriptedTransaction> script, core::AgentIndex index, std::shared_ptr<ScriptLog> log,
                bool watches)
      : script_(std::move(script)), index_(index), log_(std::move(log)), watches_(watches) {}
  void start(const agents::View& view, agents::TransactionSink& sink) override { submit_due(view, sink); }
  void act(const agents::View& view, agents::TransactionSink& sink) override {
    log_->mempool_sizes_seen.push_back(view.mempool.size());
    if (log_->on_act) log_->on_act(view);
    submit_due(view, sink);
  }
  void on_receipt(const core::Receipt& receipt, const agents::View&) override { log_->receipts.push_back(receipt); }

 private:
  void submit_due(const agents::View& view, agents::TransactionSink& sink) {
    for (const ScriptedTransaction& step : script_) {
      if (step.block != view.block) continue;
      core::Transaction transaction = step.transaction;
      transaction.sender = index_;
      if (step.target_by_tag) {
        for (const core::Transaction& pending : view.mempool) {
          if (pending.tag == step.target_tag && pending.bundle_role == core::BundleRole::none) {
            transaction.bundle_target = pending.sequence;
          }
        }
      }
      sink.submit(transaction);
    }
  }
  std::vector<ScriptedTransaction> script_;
  core::AgentIndex index_;
  std::shared_ptr<ScriptLog> log_;
  bool watches_;
};

class ScriptedAgentParams final : public agents::AgentParams {
 public:
  ScriptedAgentParams(std::vector<ScriptedTransaction> script, std::shared_ptr<ScriptLog> log, bool watches,
                      std::vector<double> wallet)
      : script_(std::move(script)), log_(std::move(log)), watches_(watches), wallet_(std::move(wallet)) {}
  std::unique_ptr<agents::Agent> create(const agents::AgentContext& context) const override {
    return std::make_unique<ScriptedAgent>(script_, context.index, log_, watches_);
  }
  bool watches_mempool() const override { return watches_; }
  std::vector<double> initial_wallet(std::size_t asset_count) const override {
    std::vector<double> wallet(asset_count, 0.0);
    for (std::size_t i = 0; i < wallet.size() && i < wallet_.size(); ++i) wallet[i] = wallet_[i];
    return wallet;
  }

 private:
  std::vector<ScriptedTransaction> script_;
  std::shared_ptr<ScriptLog> log_;
  bool watches_;
  std::vector<double> wallet_;
};

// A copy of `spec` with one more agent that plays `script`; its receipts go to the returned log.
inline std::pair<std::shared_ptr<engine::ScenarioSpec>, std::shared_ptr<ScriptLog>> with_scripted_agent(
    const engine::ScenarioSpec& spec, std::vector<ScriptedTransaction> script, std::string id,
    bool watches_mempool = false, std::vector<double> wallet = {}) {
  auto copy = std::make_shared<engine::ScenarioSpec>(spec);
  auto log = std::make_shared<ScriptLog>();
  copy->agents.push_back({std::move(id), "scripted",
                          std::make_shared<ScriptedAgentParams>(std::move(script), log, watches_mempool,
                                                                std::move(wallet))});
  return {copy, log};
}

}  // namespace defisim::test_support
