#include "framework/engine/scenario_plan.hpp"

#include <fmt/format.h>

#include "framework/core/errors.hpp"
#include "framework/core/units.hpp"

#include <cmath>

namespace defisim::engine {

namespace {

core::PriceStepper make_stepper(const ScenarioSpec& spec) {
  if (const auto* gbm = std::get_if<core::GbmParams>(&spec.price)) {
    return core::GbmStepper(*gbm, spec.block_time_seconds);
  }
  if (const auto* jump = std::get_if<core::JumpDiffusionParams>(&spec.price)) {
    return core::JumpDiffusionStepper(*jump, spec.block_time_seconds);
  }
  return core::ReplayStepper(std::get<core::ReplayParams>(spec.price));
}

// The constant theta added to each independent normal z of a block so that
// the expected log return over the whole path moves by shift: each block's
// log-price increment is sigma sqrt(dt) (L z), so L theta = shift / (blocks
// sigma sqrt(dt)), solved by forward substitution (L lower triangular).
std::vector<double> importance_tilt(const ScenarioSpec& spec) {
  const core::GbmParams& gbm = std::holds_alternative<core::GbmParams>(spec.price)
                                   ? std::get<core::GbmParams>(spec.price)
                                   : std::get<core::JumpDiffusionParams>(spec.price).diffusion;
  const Eigen::Index n = gbm.volatility.size();
  const double dt_years = spec.block_time_seconds / core::seconds_per_year;
  Eigen::VectorXd target(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double step = gbm.volatility(i) * std::sqrt(dt_years);
    target(i) = step > 0.0 ? spec.importance_shift_log_return(i) / (static_cast<double>(spec.blocks) * step) : 0.0;
  }
  const Eigen::MatrixXd cholesky = core::correlation_cholesky(gbm.correlation);
  const Eigen::VectorXd theta = cholesky.triangularView<Eigen::Lower>().solve(target);
  const std::size_t normals = core::shock_counts(make_stepper(spec)).normals;
  std::vector<double> tilt(normals, 0.0);  // jump-size normals (after the n diffusion ones) are not tilted
  for (Eigen::Index i = 0; i < n; ++i) tilt[static_cast<std::size_t>(i)] = theta(i);
  return tilt;
}

void append(std::vector<output::MetricInfo>& metrics, const std::string& prefix,
            std::vector<output::MetricInfo> more) {
  for (output::MetricInfo& metric : more) {
    metric.name = prefix + "." + metric.name;
    metrics.push_back(std::move(metric));
  }
}

}  // namespace

ScenarioPlan::ScenarioPlan(std::shared_ptr<const ScenarioSpec> scenario_spec)
    : spec(std::move(scenario_spec)), stepper(make_stepper(*spec)) {
  using output::RiskTail;
  reference_slots = {series_metrics.size(), spec->risky_assets.size(), 0, 0};
  for (core::AssetIndex asset : spec->risky_assets) {
    series_metrics.push_back({fmt::format("reference.{}", spec->assets[asset]), "numeraire",
                              "reference (off-chain) price, numeraire per token", RiskTail::lower_is_worse});
  }
  for (std::size_t m = 0; m < spec->markets.size(); ++m) {
    if (const auto* lending = std::get_if<markets::LendingParams>(&spec->markets[m])) {
      add_lending_metrics(*lending, spec->market_ids[m], spec->assets);
      continue;
    }
    if (markets::is_perp(spec->markets[m])) {
      add_perp_metrics(spec->market_ids[m]);
      continue;
    }
    const markets::CpmmParams& pool = *markets::constant_product_params(spec->markets[m]);
    const bool is_twamm = std::holds_alternative<markets::TwammParams>(spec->markets[m]);
    const std::string& id = spec->market_ids[m];
    const std::string quote = fmt::format("{} per {}", spec->assets[pool.asset_y], spec->assets[pool.asset_x]);
    std::vector<output::MetricInfo> series = {
        {"spot_price", quote, "pool marginal price before fees", RiskTail::lower_is_worse},
        {"value", "numeraire", "pool reserves at reference prices", RiskTail::lower_is_worse}};
    std::vector<output::MetricInfo> outcomes = {
        {"swaps", "count", "executed swaps", RiskTail::lower_is_worse},
        {"volume", "numeraire", "swap input value at reference prices", RiskTail::lower_is_worse},
        {"fees", "numeraire", "swap fees at reference prices when paid", RiskTail::lower_is_worse},
        {"final_value", "numeraire", "pool reserves at final reference prices", RiskTail::lower_is_worse}};
    if (is_twamm) {
      series.push_back({"order_pool_value", "numeraire",
                        "long-term orders' unsold input and unwithdrawn proceeds at reference prices",
                        RiskTail::lower_is_worse});
      outcomes.push_back({"orders_placed", "count", "long-term orders placed", RiskTail::lower_is_worse});
      outcomes.push_back({"virtual_volume", "numeraire",
                          "long-term orders' input sold to the pool, at reference prices when sold",
                          RiskTail::lower_is_worse});
    }
    market_slots.push_back({series_metrics.size(), series.size(), outcome_metrics.size(), outcomes.size()});
    append(series_metrics, id, std::move(series));
    append(outcome_metrics, id, std::move(outcomes));
  }
  chain_slots = {series_metrics.size(), 0, outcome_metrics.size(), chain_outcome_count};
  if (spec->has_gas_process()) {
    chain_slots.series_count = 1;
    series_metrics.push_back({"chain.base_gas_price_gwei", "gwei", "the base gas price (chain.gas_process)",
                              RiskTail::higher_is_worse});
  }
  append(outcome_metrics, "chain",
         {{"transactions", "count", "transactions included in blocks", RiskTail::lower_is_worse},
          {"reverts", "count", "included transactions that reverted", RiskTail::higher_is_worse},
          {"dropped", "count", "transactions dropped by a full mempool", RiskTail::higher_is_worse},
          {"gas_paid", "numeraire", "gas paid to the builder at reference prices", RiskTail::higher_is_worse},
          {"bundles", "count", "searcher bundles executed around a target (mev ordering)", RiskTail::higher_is_worse},
          {"bribes", "numeraire", "bundle bids paid to the builder at reference prices", RiskTail::higher_is_worse},
          {"builder_revenue", "numeraire", "gas plus bribes received by the builder at reference prices",
           RiskTail::lower_is_worse},
          {"victim_loss", "numeraire",
           "what front-run targets received less than without the front-run, at reference prices (mev bundles; "
           "front-runs that outbid their target under priority_fee or random)",
           RiskTail::higher_is_worse}});
  if (spec->has_gas_process()) {
    chain_slots.outcome_count += 1;
    outcome_metrics.push_back({"chain.peak_base_gas_price_gwei", "gwei", "the highest base gas price of the path",
                               RiskTail::higher_is_worse});
  }
  for (const AgentSpec& agent : spec->agents) {
    auto series = agent.params->series_metrics();
    auto outcomes = agent.params->outcome_metrics();
    if (series.size() > max_series_per_agent) {
      throw core::InvariantViolation(fmt::format("agent '{}' ({}) declares {} series; at most {}", agent.id,
                                                 agent.type, series.size(), max_series_per_agent));
    }
    agent_slots.push_back({series_metrics.size(), series.size(), outcome_metrics.size(), outcomes.size()});
    append(series_metrics, agent.id, std::move(series));
    append(outcome_metrics, agent.id, std::move(outcomes));
  }
  if (spec->importance_sampling()) {
    sampling_slots = {series_metrics.size(), 0, outcome_metrics.size(), 1};
    outcome_metrics.push_back({"sampling.likelihood_ratio", "ratio",
                               "importance sampling: the path's likelihood ratio dP/dQ of the configured price process "
                               "to the tilted one it was drawn from; every summary statistic is weighted by it, and its "
                               "own mean is 1 in expectation",
                               RiskTail::higher_is_worse});
    tilt_per_normal = importance_tilt(*spec);
  }
  for (std::uint64_t block = 0; block <= spec->blocks; block += spec->record_every) sample_blocks.push_back(block);
  if (spec->has_gas_process()) gas_stepper.emplace(spec->gas_process, spec->block_time_seconds);
  changes_every_block = spec->has_gas_process() || spec->has_oracles();
}

void ScenarioPlan::add_lending_metrics(const markets::LendingParams& lending, const std::string& id,
                                       const std::vector<std::string>& assets) {
  using output::RiskTail;
  std::vector<output::MetricInfo> series = {
      {"debt_value", "numeraire", "debt owed by all positions, at reference prices", RiskTail::higher_is_worse},
      {"supply_value", "numeraire", "suppliers' claims, at reference prices", RiskTail::lower_is_worse},
      {"reserves_value", "numeraire", "the protocol's reserves, at reference prices", RiskTail::lower_is_worse},
      {"bad_debt", "numeraire", "debt written off so far (oracle prices when written off)", RiskTail::higher_is_worse},
      {"liquidatable_debt", "numeraire",
       "debt of positions with health factor below 1 at oracle prices, not yet liquidated (liquidations at risk), "
       "at reference prices",
       RiskTail::higher_is_worse},
      {"liquidatable_positions", "count", "positions with health factor below 1 (oracle prices)", RiskTail::higher_is_worse},
      {"positions_health_below_1_1", "count", "positions with health factor below 1.1", RiskTail::higher_is_worse},
      {"positions_health_below_1_25", "count", "positions with health factor below 1.25", RiskTail::higher_is_worse},
  };
  std::vector<output::MetricInfo> outcomes = {
      {"liquidations", "count", "liquidations executed (maker: auction takes are counted in auction_takes)",
       RiskTail::higher_is_worse},
      {"liquidation_volume", "numeraire", "debt repaid by liquidators and auction takers, at reference prices",
       RiskTail::higher_is_worse},
      {"collateral_seized_value", "numeraire", "collateral paid to liquidators and takers, at reference prices",
       RiskTail::higher_is_worse},
      {"bad_debt", "numeraire", "debt written off (oracle prices when written off)", RiskTail::higher_is_worse},
      {"any_bad_debt", "0/1", "1 if any debt was written off on this path", RiskTail::higher_is_worse},
      {"supplier_loss", "numeraire", "the part of the bad debt suppliers bore after reserves, at final reference prices",
       RiskTail::higher_is_worse},
      {"reserves_value", "numeraire", "the protocol's reserves at the end, at reference prices", RiskTail::lower_is_worse},
      {"underwater_debt", "numeraire",
       "at the end, debt in excess of collateral summed over positions whose collateral is worth less than their "
       "debt (bad debt not yet written off), at reference prices",
       RiskTail::higher_is_worse},
      {"auctions_started", "count", "maker: vaults sent to auction", RiskTail::higher_is_worse},
      {"auction_takes", "count", "maker: takes from auctions", RiskTail::higher_is_worse},
      {"final_debt_value", "numeraire", "debt owed by positions at the end, at reference prices", RiskTail::higher_is_worse},
      {"auction_debt_value", "numeraire", "maker: debt in auctions still running at the end (not yet raised), at reference prices",
       RiskTail::higher_is_worse},
      {"auction_collateral_value", "numeraire",
       "maker: collateral in auctions still running at the end (their lots), at final reference prices",
       RiskTail::lower_is_worse},
      {"protocol_collateral_value", "numeraire",
       "maker, reset: false: collateral left by auctions closed unsold, kept by the protocol, at final reference prices",
       RiskTail::lower_is_worse},
      {"auction_resets", "count", "maker: resets of stale auctions (clip.redo)", RiskTail::higher_is_worse},
      {"auctions_closed_stale", "count", "maker, reset: false: auctions closed unsold", RiskTail::higher_is_worse},
  };
  for (const markets::LendingAssetParams& asset : lending.assets) {
    if (!asset.borrowable) continue;
    series.push_back({"utilisation." + assets[asset.asset], "fraction", "debt / (cash + debt) of the asset",
                      RiskTail::higher_is_worse});
    outcomes.push_back({"final_utilisation." + assets[asset.asset], "fraction", "utilisation at the end",
                        RiskTail::higher_is_worse});
  }
  market_slots.push_back({series_metrics.size(), series.size(), outcome_metrics.size(), outcomes.size()});
  append(series_metrics, id, std::move(series));
  append(outcome_metrics, id, std::move(outcomes));
}

// In the order World::record_perp and finish_perp write them (world_perp.cpp).
void ScenarioPlan::add_perp_metrics(const std::string& id) {
  using output::RiskTail;
  std::vector<output::MetricInfo> series = {
      {"share_price", "numeraire",
       "LP share price marked at reference prices (gmx: AUM / GLP; gtrade: marked vault / shares; vamm: insurance "
       "fund + toll pool per unit of the initial fund)",
       RiskTail::lower_is_worse},
      {"pool_value", "numeraire", "the LPs' claim: gmx AUM, gtrade vault marked with open trades, vamm insurance fund + "
       "toll pool - uncovered bad debt, at reference prices", RiskTail::lower_is_worse},
      {"open_interest_long", "numeraire", "open longs' notional at entry", RiskTail::higher_is_worse},
      {"open_interest_short", "numeraire", "open shorts' notional at entry", RiskTail::higher_is_worse},
      {"skew", "fraction", "(long - short) / (long + short) open interest; 0 with none", RiskTail::higher_is_worse},
      {"fees", "numeraire", "the pool's result so far from fees and funding (PnL split)", RiskTail::lower_is_worse},
      {"trader_pnl", "numeraire", "the pool's result so far as the traders' counterparty (PnL split; open trades marked)",
       RiskTail::lower_is_worse},
      {"delta_pnl", "numeraire", "the pool's result so far from repricing its own holdings (PnL split)",
       RiskTail::lower_is_worse},
  };
  std::vector<output::MetricInfo> outcomes = {
      {"lp_pnl", "numeraire", "the pool's result over the path, apart from LP deposits and withdrawals: fees + "
       "trader_pnl + delta_pnl, at final reference prices", RiskTail::lower_is_worse},
      {"fees", "numeraire", "fees, funding, borrow and rollover fees the pool received", RiskTail::lower_is_worse},
      {"trader_pnl", "numeraire", "the pool as counterparty: minus what traders gained (open trades marked)",
       RiskTail::lower_is_worse},
      {"delta_pnl", "numeraire", "the pool's own holdings repriced (gmx's basket; 0 for gtrade and vamm)",
       RiskTail::lower_is_worse},
      {"final_share_price", "numeraire", "share_price at the end", RiskTail::lower_is_worse},
      {"max_drawdown", "fraction", "largest fall of share_price from its running peak, checked every block (above 1 once the pool's value is "
       "negative)",
       RiskTail::higher_is_worse},
      {"min_pool_value", "numeraire", "lowest pool_value over the blocks", RiskTail::lower_is_worse},
      {"insolvent", "0/1", "1 if pool_value fell below zero or (vamm) bad debt exceeded the insurance fund",
       RiskTail::higher_is_worse},
      {"funding_to_pool", "numeraire", "net funding the pool received from traders (gmx: borrow fees; gtrade: funding "
       "and rollover fees; vamm: the funding imbalance to the insurance fund)", RiskTail::lower_is_worse},
      {"position_fees", "numeraire", "opening and closing fees traders paid (gmx margin fees incl. at liquidation; "
       "gtrade open and close fees; vamm spread and toll)", RiskTail::lower_is_worse},
      {"positions_opened", "count", "positions opened", RiskTail::lower_is_worse},
      {"notional_opened", "numeraire", "requested notional of the positions opened (collateral x leverage at the oracle)",
       RiskTail::lower_is_worse},
      {"positions_closed", "count", "positions closed by their owners", RiskTail::lower_is_worse},
      {"liquidations", "count", "positions liquidated (gmx: incl. closes for exceeding the maximum leverage)",
       RiskTail::higher_is_worse},
      {"bad_debt", "numeraire", "losses beyond positions' collateral at liquidation, borne by the pool (gmx) or the "
       "insurance fund (vamm); 0 for gtrade, whose losses stop at the collateral", RiskTail::higher_is_worse},
      {"uncovered_bad_debt", "numeraire", "vamm: bad debt and funding the insurance fund could not pay",
       RiskTail::higher_is_worse},
      {"peak_open_interest", "numeraire", "largest long + short open interest over the blocks", RiskTail::higher_is_worse},
      {"mean_skew", "fraction", "skew averaged over the blocks with open interest", RiskTail::higher_is_worse},
  };
  market_slots.push_back({series_metrics.size(), series.size(), outcome_metrics.size(), outcomes.size()});
  append(series_metrics, id, std::move(series));
  append(outcome_metrics, id, std::move(outcomes));
}

}  // namespace defisim::engine
