#include "framework/engine/config_perp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace defisim::engine {

namespace {

using config::ConfigNode;
using config::KeySpec;

constexpr KeySpec gmx_keys[] = {
    {"id", "string", "", "market name, unique; used in agent configs, metrics, --set and sweeps"},
    {"type", "string", "", "gmx_glp"},
    {"assets", "map asset -> map", "",
     "the pool's assets (1 to 8) and the genesis LP's deposit of each (see markets[] (type: gmx_glp).assets.<asset>)"},
    {"margin_fee", "number", "0.001", "position fee, fraction of the size opened or closed (GMX: 10 bp), in [0, 1)"},
    {"max_leverage", "number", "50",
     "a position whose size / (collateral - losses - fees) exceeds this is closed by a keeper (GMX: 50x), > 1"},
    {"liquidation_fee_numeraire", "number", "5", "paid from the pool to the liquidator per liquidation (GMX: 5 USD), >= 0"},
    {"borrow_interval_seconds", "number", "3600",
     "the borrow fee (GMX v1's \"funding\") accrues per whole interval of this length (> 0)"},
    {"borrow_rate_factor", "number", "0.0001",
     "per interval, the borrow rate of a non-stable collateral asset is this x its reserved / pool amount (>= 0; GMX: "
     "0.01% per hour at full utilisation)"},
    {"stable_borrow_rate_factor", "number", "0.0001", "the same for stablecoin collateral (shorts) (>= 0)"},
    {"mint_burn_fee", "number", "0.003", "fee on GLP mint and redeem, fraction, in [0, 1) (GMX: 30 bp)"},
    {"lp_fee_share", "number", "0.7",
     "share of every fee that stays in the pool (GLP's share; the rest goes to fee reserves), in [0, 1]"},
    {"max_positions", "integer", "100000", "positions that can be opened over a path (storage reserved; 1 to 10000000)"},
};

constexpr KeySpec gmx_asset_keys[] = {
    {"initial_pool_amount", "number", "0", "tokens deposited at block 0 by the genesis LP, >= 0"},
    {"stable", "boolean", "true for the numeraire, else false",
     "a stablecoin: collateral of shorts (valued at its oracle price), never traded itself"},
    {"shortable", "boolean", "true", "non-stables: may be shorted"},
};

constexpr KeySpec gtrade_keys[] = {
    {"id", "string", "", "market name, unique; used in agent configs, metrics, --set and sweeps"},
    {"type", "string", "", "gtrade_vault"},
    {"collateral", "string", "the numeraire", "the vault's stablecoin: collateral of every trade"},
    {"traded_asset", "string", "", "the pair's base asset, priced by its oracle"},
    {"initial_vault_assets", "number", "0", "tokens the genesis LP deposits at block 0 (for as many shares), >= 0"},
    {"one_percent_depth_above", "number", "0",
     "numeraire of long open interest that moves a long's opening price by 1% (0: no price impact), >= 0"},
    {"one_percent_depth_below", "number", "0", "the same for shorts, >= 0"},
    {"funding_rate", "number", "0",
     "annualised: per year, longs pay this fraction of (long - short open interest) to shorts, and the reverse; >= 0"},
    {"rollover_rate", "number", "0", "annualised fee on every trade's collateral, >= 0"},
    {"max_open_interest", "number", "unlimited", "numeraire, per side: a trade that would exceed it reverts (> 0)"},
    {"max_position_per_trader", "number", "unlimited",
     "numeraire of open notional per account (a population agent is one account) (> 0)"},
    {"max_negative_pnl_on_open", "number", "0.4", "a trade whose price impact x leverage exceeds this reverts, >= 0"},
    {"max_gain", "number", "9", "profit cap, fraction of collateral (gTrade: +900%), > 0"},
    {"liquidation_loss", "number", "0.9", "a trade is liquidated once its losses reach this fraction of collateral, in (0, 1]"},
    {"liquidation_reward", "number", "0.05", "fraction of the collateral paid to the liquidator, in [0, 1]"},
    {"open_fee", "number", "0.0008", "fraction of the notional, taken from the collateral, in [0, 1]"},
    {"close_fee", "number", "0.0008", "fraction of the notional, in [0, 1]"},
    {"vault_fee_share", "number", "1",
     "share of the open and close fees kept by the vault; the rest goes to the protocol, in [0, 1]"},
    {"min_leverage", "number", "1", ">= 1"},
    {"max_leverage", "number", "150", ">= min_leverage; open_fee x max_leverage must be < 1"},
    {"max_trades", "integer", "100000", "trades that can be opened over a path (storage reserved; 1 to 10000000)"},
};

constexpr KeySpec vamm_keys[] = {
    {"id", "string", "", "market name, unique; used in agent configs, metrics, --set and sweeps"},
    {"type", "string", "", "vamm"},
    {"quote", "string", "the numeraire", "the real margin token"},
    {"base", "string", "", "the traded asset; its oracle price is the index of funding and liquidations"},
    {"quote_reserve", "number", "", "the virtual quote reserve (the vAMM's depth), > 0; the base reserve is set so "
     "that the mark starts at the base's initial price"},
    {"initial_insurance_fund", "number", "", "tokens in the insurance fund at block 0, > 0 (the fund's backers are "
     "the vamm's LPs: its share_price is per unit of this)"},
    {"spread_ratio", "number", "0.001", "fee to the insurance fund, fraction of the exchanged notional, in [0, 1]"},
    {"toll_ratio", "number", "0", "fee to the toll pool, fraction of the exchanged notional, in [0, 1]"},
    {"initial_margin_ratio", "number", "0.1", "opening needs 1 / leverage >= this (0.1: 10x), in (0, 1]"},
    {"maintenance_margin_ratio", "number", "0.0625", "liquidatable below this margin ratio, in (0, initial_margin_ratio]"},
    {"liquidation_fee_ratio", "number", "0.025",
     "of the liquidated notional: half to the liquidator, the rest (or the margin left) to the insurance fund"},
    {"partial_liquidation_ratio", "number", "0",
     "fraction of a position one liquidation closes; 0 or 1: the whole position (Perp v1 at launch)"},
    {"oracle_spread_limit", "number", "0.1",
     "when |mark / index - 1| exceeds this, liquidation uses the better of the vAMM's and the oracle's margin ratio"},
    {"funding_period_seconds", "number", "3600", "funding settles once per period: (mark TWAP - index) x period / 1 day"},
    {"max_positions", "integer", "100000", "positions that can be opened over a path (storage reserved; 1 to 10000000)"},
};

core::AssetIndex asset_named(const ConfigNode& node, const ScenarioSpec& spec) {
  return static_cast<core::AssetIndex>(config::resolve_name(node, node.as_string(), spec.assets, "asset"));
}

std::uint32_t capacity(const ConfigNode& market, std::string_view key) {
  const std::int64_t value = market.integer_in(key, 100000, 1, 10000000);
  return static_cast<std::uint32_t>(value);
}

markets::GmxParams parse_gmx(const ConfigNode& market, const ScenarioSpec& spec) {
  markets::GmxParams params;
  const ConfigNode assets = market.child("assets");
  if (!assets.is_map() || assets.entries().empty()) assets.fail("expected a map asset -> {initial_pool_amount, ...}");
  if (assets.entries().size() > markets::max_gmx_assets) {
    assets.fail(fmt::format("a gmx pool holds at most {} assets", markets::max_gmx_assets));
  }
  bool any_stable = false, any_traded = false;
  for (auto& [name, node] : assets.entries()) {
    node.check_keys(gmx_asset_keys);
    markets::GmxAssetParams asset;
    asset.asset = static_cast<core::AssetIndex>(config::resolve_name(node, name, spec.assets, "asset"));
    for (const markets::GmxAssetParams& other : params.assets) {
      if (other.asset == asset.asset) node.fail(fmt::format("asset '{}' is listed twice", name));
    }
    asset.initial_pool_amount = node.number_in("initial_pool_amount", 0.0, 0.0, true, INFINITY, false);
    asset.is_stable = node.has("stable") ? node.child("stable").as_bool() : asset.asset == spec.numeraire;
    asset.shortable = node.boolean("shortable", true);
    any_stable = any_stable || asset.is_stable;
    any_traded = any_traded || !asset.is_stable;
    params.assets.push_back(asset);
  }
  if (!any_traded) assets.fail("a gmx pool needs a non-stable asset to trade");
  if (!any_stable) assets.fail("a gmx pool needs a stablecoin (stable: true) as the collateral of shorts");
  params.margin_fee = market.number_in("margin_fee", 0.001, 0.0, true, 1.0, false);
  params.max_leverage = market.number_in("max_leverage", 50.0, 1.0, false, 1e6, true);
  params.liquidation_fee_usd = market.number_in("liquidation_fee_numeraire", 5.0, 0.0, true, INFINITY, false);
  params.funding_interval_seconds = market.number_in("borrow_interval_seconds", 3600.0, 0.0, false, INFINITY, false);
  params.funding_rate_factor = market.number_in("borrow_rate_factor", 0.0001, 0.0, true, 1.0, true);
  params.stable_funding_rate_factor = market.number_in("stable_borrow_rate_factor", 0.0001, 0.0, true, 1.0, true);
  params.mint_burn_fee = market.number_in("mint_burn_fee", 0.003, 0.0, true, 1.0, false);
  params.lp_fee_share = market.number_in("lp_fee_share", 0.7, 0.0, true, 1.0, true);
  params.max_positions = capacity(market, "max_positions");
  return params;
}

markets::GtradeParams parse_gtrade(const ConfigNode& market, const ScenarioSpec& spec) {
  markets::GtradeParams params;
  params.collateral_asset = market.has("collateral") ? asset_named(market.child("collateral"), spec) : spec.numeraire;
  params.traded_asset = asset_named(market.child("traded_asset"), spec);
  if (params.traded_asset == params.collateral_asset) {
    market.child("traded_asset").fail("the traded asset must differ from the collateral");
  }
  params.initial_vault_assets = market.number_in("initial_vault_assets", 0.0, 0.0, true, INFINITY, false);
  params.one_percent_depth_above_usd = market.number_in("one_percent_depth_above", 0.0, 0.0, true, INFINITY, false);
  params.one_percent_depth_below_usd = market.number_in("one_percent_depth_below", 0.0, 0.0, true, INFINITY, false);
  params.funding_fee_per_second = market.number_in("funding_rate", 0.0, 0.0, true, 1e6, true) / core::seconds_per_year;
  params.rollover_fee_per_second = market.number_in("rollover_rate", 0.0, 0.0, true, 1e6, true) / core::seconds_per_year;
  params.max_open_interest_usd = market.number_in("max_open_interest", INFINITY, 0.0, false, INFINITY, true);
  params.max_position_per_trader_usd = market.number_in("max_position_per_trader", INFINITY, 0.0, false, INFINITY, true);
  params.max_negative_pnl_on_open = market.number_in("max_negative_pnl_on_open", 0.4, 0.0, true, INFINITY, true);
  params.max_gain = market.number_in("max_gain", 9.0, 0.0, false, 1e6, true);
  params.liquidation_loss = market.number_in("liquidation_loss", 0.9, 0.0, false, 1.0, true);
  params.liquidation_reward = market.number_in("liquidation_reward", 0.05, 0.0, true, 1.0, true);
  params.open_fee = market.number_in("open_fee", 0.0008, 0.0, true, 1.0, true);
  params.close_fee = market.number_in("close_fee", 0.0008, 0.0, true, 1.0, true);
  params.vault_fee_share = market.number_in("vault_fee_share", 1.0, 0.0, true, 1.0, true);
  params.min_leverage = market.number_in("min_leverage", 1.0, 1.0, true, 1e6, true);
  params.max_leverage = market.number_in("max_leverage", 150.0, 1.0, true, 1e6, true);
  params.max_trades = capacity(market, "max_trades");
  return params;
}

markets::VammParams parse_vamm(const ConfigNode& market, const ScenarioSpec& spec) {
  markets::VammParams params;
  params.quote_asset = market.has("quote") ? asset_named(market.child("quote"), spec) : spec.numeraire;
  params.base_asset = asset_named(market.child("base"), spec);
  if (params.base_asset == params.quote_asset) market.child("base").fail("the base asset must differ from the quote");
  const ConfigNode quote_reserve = market.child("quote_reserve");
  params.quote_reserve = quote_reserve.in_range(quote_reserve.as_number(), 0.0, false, INFINITY, false);
  const std::vector<double> prices = spec.initial_prices_by_asset();
  params.base_reserve = params.quote_reserve * prices[params.quote_asset] / prices[params.base_asset];
  const ConfigNode insurance_fund = market.child("initial_insurance_fund");
  params.initial_insurance_fund = insurance_fund.in_range(insurance_fund.as_number(), 0.0, false, INFINITY, false);
  params.spread_ratio = market.number_in("spread_ratio", 0.001, 0.0, true, 1.0, true);
  params.toll_ratio = market.number_in("toll_ratio", 0.0, 0.0, true, 1.0, true);
  params.initial_margin_ratio = market.number_in("initial_margin_ratio", 0.1, 0.0, false, 1.0, true);
  params.maintenance_margin_ratio = market.number_in("maintenance_margin_ratio", 0.0625, 0.0, false, 1.0, true);
  params.liquidation_fee_ratio = market.number_in("liquidation_fee_ratio", 0.025, 0.0, true, 1.0, true);
  params.partial_liquidation_ratio = market.number_in("partial_liquidation_ratio", 0.0, 0.0, true, 1.0, true);
  params.oracle_spread_limit = market.number_in("oracle_spread_limit", 0.1, 0.0, false, INFINITY, true);
  params.funding_period_seconds = market.number_in("funding_period_seconds", 3600.0, 0.0, false, INFINITY, false);
  params.max_positions = capacity(market, "max_positions");
  return params;
}

}  // namespace

bool is_perp_market_type(std::string_view type) {
  return std::find(std::begin(perp_market_types), std::end(perp_market_types), type) != std::end(perp_market_types);
}

std::span<const KeySpec> perp_market_keys(std::string_view type) {
  if (type == "gmx_glp") return gmx_keys;
  if (type == "gtrade_vault") return gtrade_keys;
  return vamm_keys;
}

std::vector<PerpConfigSection> perp_config_sections() {
  return {
      {"markets[] (type: gmx_glp)",
       "GMX v1: a multi-asset pool (GLP) is the counterparty of leveraged longs and shorts opened at the oracle price "
       "with no price impact; position and borrow fees, liquidation, GLP mint and redeem at AUM (markets/perp_gmx.hpp).",
       gmx_keys},
      {"markets[] (type: gmx_glp).assets.<asset>", "One asset of the pool.", gmx_asset_keys},
      {"markets[] (type: gtrade_vault)",
       "gTrade: a stablecoin vault is the counterparty of one pair; price impact from open interest, funding on the "
       "imbalance, rollover, open-interest caps, +900% profit cap, liquidation at -90% (markets/perp_gtrade.hpp).",
       gtrade_keys},
      {"markets[] (type: vamm)",
       "Perpetual Protocol v1: a virtual x.y = k prices trades; funding toward the oracle index; an insurance fund "
       "absorbs bad debt before it is uncovered (markets/perp_vamm.hpp).",
       vamm_keys},
  };
}

markets::MarketParams parse_perp_market(const ConfigNode& market, std::string_view type, const ScenarioSpec& spec) {
  markets::MarketParams params;
  if (type == "gmx_glp") {
    params = parse_gmx(market, spec);
  } else if (type == "gtrade_vault") {
    params = parse_gtrade(market, spec);
  } else {
    params = parse_vamm(market, spec);
  }
  // The mechanism checks what relates keys to each other (e.g. the
  // maintenance margin below the initial margin); build one to ask it.
  try {
    if (const auto* gmx = std::get_if<markets::GmxParams>(&params)) {
      const markets::GmxPool probe(*gmx, spec.initial_prices_by_asset());
    } else if (const auto* gtrade = std::get_if<markets::GtradeParams>(&params)) {
      const markets::GtradeVault probe(*gtrade);
    } else {
      const markets::Vamm probe(std::get<markets::VammParams>(params));
    }
  } catch (const std::invalid_argument& error) {
    market.fail(error.what());
  }
  return params;
}

}  // namespace defisim::engine
