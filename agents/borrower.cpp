#include "agents/borrower.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "framework/core/deterministic_math.hpp"

namespace defisim::agents {

namespace {

constexpr config::KeySpec borrower_keys[] = {
    {"market", "string", "", "the lending market (type: lending) the positions are opened on"},
    {"positions", "integer", "1000", "positions opened at block 0 (1 to 10000000; within the market's max_positions)"},
    {"collateral", "map asset -> number", "",
     "the collateral mix: each position posts one collateral asset, drawn with these weights (> 0, normalised)"},
    {"mixed_collateral_fraction", "number", "0",
     "fraction of positions that post two different collateral assets of the mix (the second drawn like the first, "
     "given it differs), the second worth a uniform 20-80% share of the collateral value; in [0, 1]"},
    {"debt", "string", "the numeraire if borrowable, else the market's only borrowable asset", "the asset every position borrows"},
    {"size_numeraire", "map", "{median: 20000, sigma: 1.0}",
     "collateral value of a position at block 0, lognormal: {median: numeraire (> 0), sigma: >= 0}"},
    {"loan_to_value", "map", "{low: 0.3, high: 0.7}",
     "target loan-to-value at opening, uniform on [low, high] (capped at 0.999 x the collateral's loan_to_value)"},
    {"responsive_fraction", "number", "0.3", "fraction of positions whose owners defend them, in [0, 1]"},
    {"defend_below_health", "number", "1.1", "a responsive owner reacts when the health factor falls below this (> 1)"},
    {"defend_to_health", "number", "1.5", "and brings it back to this (> defend_below_health)"},
    {"top_up_probability", "number", "0.5",
     "a defence tops up collateral with this probability (drawn per position), else repays debt; in [0, 1]"},
    {"reaction_delay_blocks", "map", "{low: 1, high: 300}",
     "blocks between the health factor falling below the trigger and the owner's reaction, uniform integer on [low, high]"},
    {"gas_used", "integer", "250000", "gas units per transaction (>= 0)"},
};

constexpr config::KeySpec size_keys[] = {
    {"median", "number", "20000", "median collateral value, numeraire (> 0)"},
    {"sigma", "number", "1.0", "standard deviation of the log collateral value (>= 0)"},
};
constexpr config::KeySpec range_keys[] = {
    {"low", "number", "", "lower end"},
    {"high", "number", "", "upper end (>= low)"},
};

class BorrowerParams;

class Borrower final : public Agent {
 public:
  Borrower(const BorrowerParams& params, const AgentContext& context);
  void start(const View& view, TransactionSink& sink) override;
  void act(const View& view, TransactionSink& sink) override;
  void on_receipt(const core::Receipt& receipt, const View& view) override;
  void record(const View& view, std::span<double> series) override;
  void finish(const View& view, std::span<double> outcomes) override;

 private:
  // A drawn position, by its index in the population (the transaction tag).
  struct Member {
    core::AssetIndex collateral = 0;
    std::uint8_t collateral_kind = 0;  // index into the params' collateral arrays
    bool mixed = false;                // a second collateral asset
    std::uint8_t extra_kind = 0;
    double extra_share = 0.0;          // of the collateral value
    double collateral_value = 0.0;  // numeraire at block 0
    double loan_to_value = 0.0;
    bool responsive = false;
    bool top_up = false;
    std::uint32_t reaction_delay_blocks = 0;
    markets::PositionId position = 0;
    bool opened = false;
    // Start of the current spell below the trigger, and the last block it was seen there.
    core::BlockNumber below_since = 0, last_seen_below = 0;
    bool seen_below = false;
    bool defence_pending = false;
  };
  // The member owning `position`, or nullptr (another agent's position).
  Member* member_of(markets::PositionId position);

  const BorrowerParams& params_;
  core::AgentIndex index_;
  std::vector<Member> members_;
  // Opened positions, ascending id, with their member: positions are opened
  // in order, so ids come back ascending within this agent.
  std::vector<std::pair<markets::PositionId, std::uint32_t>> by_position_;
  std::vector<markets::PositionId> below_;  // scratch for positions_below: the market's capacity
  double opened_ = 0, opened_mixed_ = 0, open_failures_ = 0, top_ups_ = 0, repays_ = 0, defence_value_ = 0, gas_paid_ = 0;
  double borrowed_value_ = 0;  // numeraire at block 0
};

class BorrowerParams final : public AgentParams {
 public:
  core::MarketIndex market = 0;
  std::uint32_t positions = 1000;
  std::uint32_t market_max_positions = 0;  // every position of the market may be below the trigger
  std::vector<core::AssetIndex> collateral_assets;
  std::vector<double> collateral_cumulative;  // cumulative weights, last = 1
  std::vector<double> collateral_loan_to_value;  // the market's loan_to_value per collateral asset
  std::vector<double> collateral_liquidation_threshold;  // and its liquidation_threshold
  core::AssetIndex debt = 0;
  double size_median = 20000.0, size_sigma = 1.0;
  double loan_to_value_low = 0.3, loan_to_value_high = 0.7;
  double responsive_fraction = 0.3;
  double mixed_collateral_fraction = 0.0;
  double defend_below_health = 1.1, defend_to_health = 1.5;
  double top_up_probability = 0.5;
  std::uint32_t delay_low = 1, delay_high = 300;
  std::uint32_t gas_used = 250000;

  std::unique_ptr<Agent> create(const AgentContext& context) const override {
    return std::make_unique<Borrower>(*this, context);
  }
  std::uint32_t start_transactions() const override { return positions; }
  std::vector<output::MetricInfo> series_metrics() const override {
    using output::RiskTail;
    return {{"defences", "count", "top-ups and repays so far", RiskTail::higher_is_worse}};
  }
  std::vector<output::MetricInfo> outcome_metrics() const override {
    using output::RiskTail;
    return {
        {"opened", "count", "positions opened at block 0", RiskTail::lower_is_worse},
        {"opened_mixed", "count", "of them, positions with two collateral assets", RiskTail::lower_is_worse},
        {"open_failures", "count", "positions that could not be opened (caps, liquidity)", RiskTail::higher_is_worse},
        {"borrowed_value", "numeraire", "debt taken at block 0, at reference prices", RiskTail::lower_is_worse},
        {"top_ups", "count", "collateral top-ups", RiskTail::higher_is_worse},
        {"repays", "count", "debt repayments to defend a position", RiskTail::higher_is_worse},
        {"defence_value", "numeraire", "value put into defences, at reference prices", RiskTail::higher_is_worse},
        {"gas_paid", "numeraire", "gas paid", RiskTail::higher_is_worse},
    };
  }
};

Borrower::Borrower(const BorrowerParams& params, const AgentContext& context)
    : params_(params), index_(context.index), members_(params.positions), below_(params.market_max_positions) {
  core::RandomStream random(context.seed, context.path, core::streams::agent(context.index));
  for (Member& member : members_) {
    const double pick = random.uniform();
    std::size_t k = 0;
    while (k + 1 < params.collateral_assets.size() && pick > params.collateral_cumulative[k]) ++k;
    member.collateral = params.collateral_assets[k];
    member.collateral_kind = static_cast<std::uint8_t>(k);
    double loan_to_value_cap = params.collateral_loan_to_value[k];
    // Draws only when mixes are on, so a population without them keeps its numbers.
    if (params.mixed_collateral_fraction > 0.0 && params.collateral_assets.size() > 1) {
      member.mixed = random.uniform() < params.mixed_collateral_fraction;
      // The second asset: drawn from the mix with the first one's weight removed.
      const double first_weight = params.collateral_cumulative[k] - (k > 0 ? params.collateral_cumulative[k - 1] : 0.0);
      double pick_extra = random.uniform() * (1.0 - first_weight);
      std::size_t j = 0;
      for (; j + 1 < params.collateral_assets.size(); ++j) {
        if (j == k) continue;
        const double weight = params.collateral_cumulative[j] - (j > 0 ? params.collateral_cumulative[j - 1] : 0.0);
        if (pick_extra < weight) break;
        pick_extra -= weight;
      }
      if (j == k) j = j + 1 < params.collateral_assets.size() ? j + 1 : (k > 0 ? k - 1 : 0);
      member.extra_kind = static_cast<std::uint8_t>(j);
      member.extra_share = 0.2 + 0.6 * random.uniform();
      if (member.mixed) loan_to_value_cap = std::min(loan_to_value_cap, params.collateral_loan_to_value[j]);
    }
    member.collateral_value = params.size_median * core::exp_det(params.size_sigma * random.normal());
    const double target = params.loan_to_value_low + (params.loan_to_value_high - params.loan_to_value_low) * random.uniform();
    member.loan_to_value = std::min(target, 0.999 * loan_to_value_cap);
    member.responsive = random.uniform() < params.responsive_fraction;
    member.top_up = random.uniform() < params.top_up_probability;
    const double span = static_cast<double>(params.delay_high - params.delay_low + 1);
    member.reaction_delay_blocks =
        params.delay_low + std::min<std::uint32_t>(static_cast<std::uint32_t>(random.uniform() * span),
                                                   params.delay_high - params.delay_low);
  }
  by_position_.reserve(members_.size());
}

void Borrower::start(const View& view, TransactionSink& sink) {
  for (std::uint32_t i = 0; i < members_.size(); ++i) {
    const Member& member = members_[i];
    const double collateral_price = view.oracle_prices[member.collateral];
    core::Transaction transaction;
    transaction.sender = index_;
    transaction.market = params_.market;
    transaction.kind = core::TransactionKind::open_position;
    transaction.funding = core::Funding::reference_venue;
    const double main_share = member.mixed ? 1.0 - member.extra_share : 1.0;
    transaction.token_in = member.collateral;
    transaction.amount_in = member.collateral_value * main_share / view.reference_prices[member.collateral];
    // Borrow against the protocol's valuation (the oracle), as a user would.
    double collateral_oracle_value = transaction.amount_in * collateral_price;
    if (member.mixed) {
      const core::AssetIndex extra = params_.collateral_assets[member.extra_kind];
      transaction.token_extra = extra;
      transaction.amount_extra = member.collateral_value * member.extra_share / view.reference_prices[extra];
      collateral_oracle_value += transaction.amount_extra * view.oracle_prices[extra];
    }
    transaction.token_other = params_.debt;
    transaction.amount_other = collateral_oracle_value * member.loan_to_value / view.oracle_prices[params_.debt];
    transaction.gas_used = params_.gas_used;
    transaction.tag = i;
    if (!sink.submit(transaction)) break;
  }
}

Borrower::Member* Borrower::member_of(markets::PositionId position) {
  const auto it = std::lower_bound(by_position_.begin(), by_position_.end(), std::make_pair(position, 0u));
  if (it == by_position_.end() || it->first != position) return nullptr;
  return &members_[it->second];
}

void Borrower::act(const View& view, TransactionSink& sink) {
  if (params_.responsive_fraction <= 0.0) return;
  const auto& lending = std::get<markets::Lending>(view.markets[params_.market]);
  const std::size_t count = lending.positions_below(params_.defend_below_health, view.oracle_prices, view.time_seconds, below_);
  for (std::size_t i = 0; i < count; ++i) {
    const markets::PositionId position = below_[i];
    if (lending.owner(position) != index_) continue;
    Member* member = member_of(position);
    if (member == nullptr || !member->responsive || member->defence_pending) continue;
    if (!member->seen_below || member->last_seen_below + 1 < view.block) member->below_since = view.block;
    member->seen_below = true;
    member->last_seen_below = view.block;
    if (view.block < member->below_since + member->reaction_delay_blocks) continue;
    // Bring the health factor to the target: with weighted collateral W
    // (value x threshold) and debt D, HF = W / D.
    const double health = lending.health_factor(position, view.oracle_prices, view.time_seconds);
    const double debt_value = lending.debt_value(position, view.oracle_prices, view.time_seconds);
    if (!(debt_value > 0.0) || !std::isfinite(health)) continue;
    const double weighted_collateral = health * debt_value;
    core::Transaction transaction;
    transaction.sender = index_;
    transaction.market = params_.market;
    transaction.funding = core::Funding::reference_venue;
    transaction.position = position;
    transaction.gas_used = params_.gas_used;
    if (member->top_up) {
      const double liquidation_threshold = params_.collateral_liquidation_threshold[member->collateral_kind];
      transaction.kind = core::TransactionKind::supply;
      transaction.token_in = member->collateral;
      transaction.amount_in = (params_.defend_to_health * debt_value - weighted_collateral) /
                              (view.oracle_prices[member->collateral] * liquidation_threshold);
    } else {
      transaction.kind = core::TransactionKind::repay;
      transaction.token_in = params_.debt;
      transaction.amount_in = (debt_value - weighted_collateral / params_.defend_to_health) / view.oracle_prices[params_.debt];
    }
    if (!(transaction.amount_in > 0.0)) continue;
    member->defence_pending = true;
    if (!sink.submit(transaction)) {
      member->defence_pending = false;
      break;
    }
  }
}

void Borrower::on_receipt(const core::Receipt& receipt, const View& view) {
  gas_paid_ += receipt.gas_paid_native * view.reference_prices[view.native_asset];
  const core::Transaction& transaction = receipt.transaction;
  if (transaction.kind == core::TransactionKind::open_position) {
    if (!receipt.succeeded()) {
      open_failures_ += 1.0;
      return;
    }
    Member& member = members_[transaction.tag];
    member.position = receipt.lending_position;
    member.opened = true;
    opened_ += 1.0;
    if (transaction.amount_extra > 0.0) opened_mixed_ += 1.0;
    borrowed_value_ += receipt.amount_out * view.reference_prices[transaction.token_other];
    by_position_.emplace_back(member.position, transaction.tag);
    if (by_position_.size() > 1 && by_position_[by_position_.size() - 2].first > member.position) {
      std::sort(by_position_.begin(), by_position_.end());  // only if ids ever arrive out of order
    }
    return;
  }
  Member* member = member_of(transaction.position);
  if (member == nullptr) return;
  member->defence_pending = false;
  member->seen_below = false;
  if (!receipt.succeeded()) return;
  const bool top_up = transaction.kind == core::TransactionKind::supply;
  (top_up ? top_ups_ : repays_) += 1.0;
  defence_value_ += receipt.amount_in * view.reference_prices[transaction.token_in];
}

void Borrower::record(const View&, std::span<double> series) { series[0] = top_ups_ + repays_; }

void Borrower::finish(const View&, std::span<double> outcomes) {
  outcomes[0] = opened_;
  outcomes[1] = opened_mixed_;
  outcomes[2] = open_failures_;
  outcomes[3] = borrowed_value_;
  outcomes[4] = top_ups_;
  outcomes[5] = repays_;
  outcomes[6] = defence_value_;
  outcomes[7] = gas_paid_;
}

void parse_range(const config::ConfigNode& node, double min, double max, double& low, double& high) {
  node.check_keys(range_keys);
  low = node.child("low").in_range(node.child("low").as_number(), min, true, max, true);
  high = node.child("high").in_range(node.child("high").as_number(), min, true, max, true);
  if (high < low) node.child("high").fail(fmt::format("high {} is below low {}", high, low));
}

std::shared_ptr<const AgentParams> parse_borrower(const config::ConfigNode& node, const WorldNames& names) {
  auto params = std::make_shared<BorrowerParams>();
  const config::ConfigNode market = node.child("market");
  params->market = names.market(market);
  const auto* lending = std::get_if<markets::LendingParams>(&names.markets[params->market]);
  if (lending == nullptr) market.fail(fmt::format("'{}' is not a lending market", market.as_string()));
  auto listed = [&](core::AssetIndex asset) -> const markets::LendingAssetParams* {
    for (const markets::LendingAssetParams& candidate : lending->assets) {
      if (candidate.asset == asset) return &candidate;
    }
    return nullptr;
  };
  const std::int64_t positions = node.integer_at_least("positions", 1000, 1);
  if (positions > static_cast<std::int64_t>(lending->max_positions) - 1) {
    node.child("positions").fail(fmt::format("{} positions do not fit the market's max_positions ({}, one of them the "
                                             "genesis supplier's); raise markets.{}.max_positions",
                                             positions, lending->max_positions, market.as_string()));
  }
  params->positions = static_cast<std::uint32_t>(positions);
  params->market_max_positions = lending->max_positions;
  if (node.has("debt")) {
    params->debt = names.asset(node.child("debt"));
    const markets::LendingAssetParams* debt = listed(params->debt);
    if (debt == nullptr || !debt->borrowable) node.child("debt").fail("not a borrowable asset of this market");
  } else if (const markets::LendingAssetParams* numeraire = listed(names.numeraire); numeraire && numeraire->borrowable) {
    params->debt = names.numeraire;
  } else {
    std::size_t borrowable = 0;
    for (const markets::LendingAssetParams& asset : lending->assets) {
      if (asset.borrowable) {
        params->debt = asset.asset;
        ++borrowable;
      }
    }
    if (borrowable != 1) node.fail("the market has several borrowable assets and the numeraire is not one: say which with `debt`");
  }
  const config::ConfigNode collateral = node.child("collateral");
  double total = 0.0;
  for (auto& [name, weight] : collateral.entries()) {
    const auto asset = static_cast<core::AssetIndex>(config::resolve_name(weight, name, names.assets, "asset"));
    const markets::LendingAssetParams* listing = listed(asset);
    if (listing == nullptr || !(listing->loan_to_value > 0.0)) {
      weight.fail(fmt::format("'{}' is not collateral on this market (listed with loan_to_value > 0)", name));
    }
    if (asset == params->debt) weight.fail("a position cannot post its debt asset as collateral here");
    total += weight.in_range(weight.as_number(), 0.0, false, INFINITY, false);
    params->collateral_assets.push_back(asset);
    params->collateral_cumulative.push_back(total);
    params->collateral_loan_to_value.push_back(listing->loan_to_value);
    params->collateral_liquidation_threshold.push_back(listing->liquidation_threshold);
  }
  if (params->collateral_assets.empty()) collateral.fail("at least one collateral asset");
  if (params->collateral_assets.size() > markets::max_lending_assets) collateral.fail("too many collateral assets");
  for (double& cumulative : params->collateral_cumulative) cumulative /= total;
  if (node.has("size_numeraire")) {
    const config::ConfigNode size = node.child("size_numeraire");
    size.check_keys(size_keys);
    params->size_median = size.number_in("median", 20000.0, 0.0, false, INFINITY, false);
    params->size_sigma = size.number_in("sigma", 1.0, 0.0, true, 10.0, true);
  }
  if (node.has("loan_to_value")) {
    parse_range(node.child("loan_to_value"), 0.0, 1.0, params->loan_to_value_low, params->loan_to_value_high);
  }
  params->responsive_fraction = node.number_in("responsive_fraction", 0.3, 0.0, true, 1.0, true);
  params->mixed_collateral_fraction = node.number_in("mixed_collateral_fraction", 0.0, 0.0, true, 1.0, true);
  if (params->mixed_collateral_fraction > 0.0 && params->collateral_assets.size() < 2) {
    node.child("mixed_collateral_fraction").fail("a mix needs at least two collateral assets in `collateral`");
  }
  params->defend_below_health = node.number_in("defend_below_health", 1.1, 1.0, false, 100.0, true);
  params->defend_to_health = node.number_in("defend_to_health", 1.5, params->defend_below_health, false, 1000.0, true);
  params->top_up_probability = node.number_in("top_up_probability", 0.5, 0.0, true, 1.0, true);
  if (node.has("reaction_delay_blocks")) {
    double low = 1, high = 300;
    parse_range(node.child("reaction_delay_blocks"), 0.0, 1e9, low, high);
    params->delay_low = static_cast<std::uint32_t>(low);
    params->delay_high = static_cast<std::uint32_t>(high);
  }
  params->gas_used = static_cast<std::uint32_t>(node.integer_at_least("gas_used", 250000, 0));
  return params;
}

}  // namespace

AgentType borrower_type() {
  return {"borrower",
          "A population of positions on a lending market, opened at block 0 with drawn sizes, collateral assets and "
          "loan-to-value targets; a fraction defend their health factor (top up or repay) after a delay.",
          borrower_keys,
          parse_borrower,
          {{"size_numeraire", size_keys}, {"loan_to_value", range_keys}, {"reaction_delay_blocks", range_keys}}};
}

}  // namespace defisim::agents
