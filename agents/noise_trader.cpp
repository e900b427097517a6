#include "agents/noise_trader.hpp"

#include <fmt/format.h>

#include <cmath>

#include "agents/sandwich_exposure.hpp"
#include "framework/core/deterministic_math.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec noise_trader_keys[] = {
    {"market", "market id", "", "the pool it trades on (cpmm, or a twamm's embedded pool)"},
    {"arrivals_per_block", "number", "0.5", "mean of the Poisson number of swaps per block, in [0, 50]"},
    {"buy_probability", "number", "0.5", "probability that a swap buys the pool's first asset, in [0, 1]"},
    {"size_numeraire", "map", "{dist: lognormal, median: 1000, sigma: 1.0}",
     "swap size in numeraire: {dist: lognormal, median: > 0, sigma: >= 0} or {dist: fixed, value: > 0}"},
    {"slippage_tolerance", "number or map", "0.005",
     "minimum output = quoted output * (1 - tolerance), tolerance in [0, 1): a number, or drawn per swap "
     "from {dist: fixed, value: t} | {dist: uniform, low: a, high: b} | {dist: empirical, values: [t1, t2, ...]}"},
    {"gas_used", "integer", "100000", "gas units per swap (>= 0)"},
    {"private_channel", "boolean", "false",
     "send swaps through a private relay (not in the public mempool: no sandwich); false: public"},
    {"priority_fee_gwei", "number", "0", "tip per gas unit, gwei (>= 0)"},
};

constexpr config::KeySpec size_keys[] = {
    {"dist", "string", "lognormal", "lognormal | fixed"},
    {"median", "number", "1000", "lognormal: median size, numeraire (> 0)"},
    {"sigma", "number", "1.0", "lognormal: standard deviation of log size (>= 0)"},
    {"value", "number", "1000", "fixed: the size, numeraire (> 0)"},
};

constexpr config::KeySpec tolerance_keys[] = {
    {"dist", "string", "fixed", "fixed | uniform | empirical"},
    {"value", "number", "0.005", "fixed: the tolerance, in [0, 1)"},
    {"low", "number", "(required by uniform)", "uniform: lower end, in [0, 1)"},
    {"high", "number", "(required by uniform)", "uniform: upper end, in [low, 1)"},
    {"values", "list of numbers", "(required by empirical)",
     "empirical: tolerances drawn with equal probability, each in [0, 1) (at most 1024)"},
};

// Arrivals beyond this in one block are dropped (a mean of 50 makes more than
// 128 arrivals a ~1e-20 event).
constexpr std::uint32_t max_swaps_per_block = 128;

class NoiseTraderParams;

class NoiseTrader final : public Agent {
 public:
  NoiseTrader(const NoiseTraderParams& params, const AgentContext& context);
  void act(const View& view, TransactionSink& sink) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void record(const View& view, std::span<double> series) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  const NoiseTraderParams& params_;
  core::AgentIndex index_;
  core::RandomStream random_;
  double execution_pnl_ = 0.0;  // numeraire
  double volume_ = 0.0;         // numeraire at reference
  double swaps_ = 0.0;
  double reverts_ = 0.0;
  SandwichExposure sandwiches_;
};

class NoiseTraderParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  double arrivals_per_block = 0.5;
  double buy_probability = 0.5;
  bool lognormal = true;
  double size_median = 1000.0;  // or the fixed size
  double size_sigma = 1.0;
  // The slippage tolerance of each swap: a fixed value (no draw), uniform on
  // [low, high], or one of an empirical list with equal probability.
  enum class ToleranceDist { fixed, uniform, empirical };
  ToleranceDist tolerance_dist = ToleranceDist::fixed;
  double slippage_tolerance = 0.005;  // fixed: the value; uniform: the lower end
  double tolerance_high = 0.005;      // uniform: the upper end
  std::vector<double> tolerance_values;  // empirical

  // Fixed tolerances draw nothing, so adding the option changed no existing result.
  double draw_tolerance(core::RandomStream& random) const {
    switch (tolerance_dist) {
      case ToleranceDist::fixed: return slippage_tolerance;
      case ToleranceDist::uniform:
        return slippage_tolerance + (tolerance_high - slippage_tolerance) * random.uniform();
      case ToleranceDist::empirical: {
        const auto count = tolerance_values.size();
        auto index = static_cast<std::size_t>(random.uniform() * static_cast<double>(count));
        return tolerance_values[index < count ? index : count - 1];
      }
    }
    return slippage_tolerance;
  }
  std::uint32_t gas_used = 100000;
  bool private_channel = false;
  double priority_fee_gwei = 0.0;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<NoiseTrader>(*this, context);
  }
  std::vector<output::MetricInfo> series_metrics() const override {
    return {{"volume", "numeraire", "cumulative traded value at reference prices",
             output::RiskTail::lower_is_worse}};
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"execution_pnl", "numeraire",
         "value received minus value paid at reference prices, gas included (a cost: negative)",
         RiskTail::lower_is_worse},
        {"volume", "numeraire", "traded value at reference prices", RiskTail::lower_is_worse},
        {"swaps", "count", "executed swaps", RiskTail::lower_is_worse},
        {"reverts", "count", "included swaps that reverted (slippage limit)", RiskTail::higher_is_worse},
        SandwichExposure::outcome_metrics()[0],
        SandwichExposure::outcome_metrics()[1],
    };
  }
};

NoiseTrader::NoiseTrader(const NoiseTraderParams& params, const AgentContext& context)
    : params_(params),
      index_(context.index),
      random_(context.seed, context.path, core::streams::agent(context.index)) {}

void NoiseTrader::act(const View& view, TransactionSink& sink) {
  std::uint32_t arrivals = core::poisson_from_uniform(params_.arrivals_per_block, random_.uniform());
  if (arrivals > max_swaps_per_block) arrivals = max_swaps_per_block;
  const auto& pool = markets::constant_product_pool(view.markets[params_.market]);
  for (std::uint32_t i = 0; i < arrivals; ++i) {
    const bool buy_x = random_.uniform() < params_.buy_probability;
    const double size = params_.lognormal
                            ? params_.size_median * core::exp_det(params_.size_sigma * random_.normal())
                            : params_.size_median;
    const core::AssetIndex token_in = buy_x ? pool.asset_y() : pool.asset_x();
    core::Transaction transaction;
    transaction.sender = index_;
    transaction.market = params_.market;
    transaction.kind = core::TransactionKind::swap;
    transaction.funding = core::Funding::reference_venue;
    transaction.token_in = token_in;
    transaction.amount_in = size / view.reference_prices[token_in];
    const double tolerance = params_.draw_tolerance(random_);
    transaction.min_amount_out = pool.amount_out(!buy_x, transaction.amount_in) * (1.0 - tolerance);
    transaction.priority_fee_gwei = params_.priority_fee_gwei;
    transaction.gas_used = params_.gas_used;
    transaction.private_channel = params_.private_channel;
    if (!sink.submit(transaction)) break;
  }
}

void NoiseTrader::on_receipt(const core::Receipt& receipt, const View& view) {
  execution_pnl_ += receipt.venue_settlement;
  sandwiches_.observe(receipt, view);
  if (receipt.succeeded()) {
    swaps_ += 1.0;
    volume_ += receipt.amount_in * view.reference_prices[receipt.transaction.token_in];
  } else if (receipt.included) {
    reverts_ += 1.0;
  }
}

void NoiseTrader::record(const View&, std::span<double> series) { series[0] = volume_; }

void NoiseTrader::finish(const View&, std::span<double> outcomes) {
  outcomes[0] = execution_pnl_;
  outcomes[1] = volume_;
  outcomes[2] = swaps_;
  outcomes[3] = reverts_;
  outcomes[4] = sandwiches_.sandwiched();
  outcomes[5] = sandwiches_.loss();
}

void parse_tolerance(const config::ConfigNode& node, NoiseTraderParams& params) {
  using Dist = NoiseTraderParams::ToleranceDist;
  if (node.is_scalar()) {
    params.slippage_tolerance = node.in_range(node.as_number(), 0.0, true, 1.0, false);
    return;
  }
  node.check_keys(tolerance_keys);
  static constexpr std::string_view distributions[] = {"fixed", "uniform", "empirical"};
  const std::string dist = node.one_of(node.string("dist", "fixed"), distributions);
  auto reject = [&](std::string_view key) {
    if (node.has(key)) node.child(key).fail(fmt::format("not used by dist '{}'", dist));
  };
  if (dist == "fixed") {
    reject("low");
    reject("high");
    reject("values");
    params.slippage_tolerance = node.number_in("value", 0.005, 0.0, true, 1.0, false);
  } else if (dist == "uniform") {
    reject("value");
    reject("values");
    params.tolerance_dist = Dist::uniform;
    const config::ConfigNode low = node.child("low");
    const config::ConfigNode high = node.child("high");
    params.slippage_tolerance = low.in_range(low.as_number(), 0.0, true, 1.0, false);
    params.tolerance_high = high.in_range(high.as_number(), params.slippage_tolerance, true, 1.0, false);
  } else {
    reject("value");
    reject("low");
    reject("high");
    params.tolerance_dist = Dist::empirical;
    const config::ConfigNode values = node.child("values");
    if (values.size() == 0 || values.size() > 1024) {
      values.fail(fmt::format("expected 1 to 1024 tolerances, got {}", values.size()));
    }
    for (const config::ConfigNode& value : values.elements()) {
      params.tolerance_values.push_back(value.in_range(value.as_number(), 0.0, true, 1.0, false));
    }
  }
}

std::shared_ptr<const AgentParams> parse_noise_trader(const config::ConfigNode& node,
                                                      const WorldNames& names) {
  auto params = std::make_shared<NoiseTraderParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  if (markets::constant_product_params(names.markets[params->market]) == nullptr) {
    market.fail("the noise_trader trades constant-product pools only (cpmm, or a twamm's embedded pool)");
  }
  params->arrivals_per_block = node.number_in("arrivals_per_block", 0.5, 0.0, true, 50.0, true);
  params->buy_probability = node.number_in("buy_probability", 0.5, 0.0, true, 1.0, true);
  if (node.has("slippage_tolerance")) parse_tolerance(node.child("slippage_tolerance"), *params);
  params->gas_used = static_cast<std::uint32_t>(node.integer_at_least("gas_used", 100000, 0));
  params->private_channel = node.boolean("private_channel", false);
  params->priority_fee_gwei = node.number_in("priority_fee_gwei", 0.0, 0.0, true, 1e6, true);
  if (node.has("size_numeraire")) {
    const config::ConfigNode size = node.child("size_numeraire");
    size.check_keys(size_keys);
    static constexpr std::string_view distributions[] = {"lognormal", "fixed"};
    params->lognormal = size.one_of(size.string("dist", "lognormal"), distributions) == "lognormal";
    if (params->lognormal) {
      params->size_median = size.number_in("median", 1000.0, 0.0, false, INFINITY, false);
      params->size_sigma = size.number_in("sigma", 1.0, 0.0, true, 10.0, true);
    } else {
      params->size_median = size.number_in("value", 1000.0, 0.0, false, INFINITY, false);
    }
  }
  return params;
}

}  // namespace

AgentType noise_trader_type() {
  return {"noise_trader",
          "Poisson arrivals, random side, lognormal size in numeraire, a slippage limit that can "
          "make its swap revert.",
          noise_trader_keys, parse_noise_trader,
          {{"size_numeraire", size_keys}, {"slippage_tolerance", tolerance_keys}}};
}

}  // namespace defisim::agents
