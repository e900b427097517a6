// The World's perpetual pools (markets/perp_*.hpp): building them with
// their genesis liquidity, the vAMM's funding settlement between blocks, and
// the metrics of ScenarioPlan::add_perp_metrics, in that order.
//
// Every value is marked at reference prices (the true value of what the
// pool holds and owes), the pool's share price after every block so its
// drawdown is exact to the block. The split of the pool's result
// (markets/perp.hpp PerpPoolPnl) is the market's own, marked to the same
// prices: a gmx pool's decomposition by mark(); a gtrade vault's realised
// split plus its open trades' marked value, counted as trader PnL until they
// close; a vamm's insurance fund and toll pool (fees, minus bad debt).
#include <algorithm>
#include <cmath>

#include "framework/engine/world.hpp"

namespace defisim::engine {

void World::build_perp_market(std::size_t m) {
  const markets::MarketParams& params = spec_.markets[m];
  if (const auto* gmx = std::get_if<markets::GmxParams>(&params)) {
    // The genesis LP's basket, drawn from the venue like pool reserves.
    for (const markets::GmxAssetParams& asset : gmx->assets) ledger_.venue(asset.asset) -= asset.initial_pool_amount;
    markets_.emplace_back(markets::GmxPool(*gmx, reference_prices_));
    ledger_.shares(genesis_account_, static_cast<core::MarketIndex>(m)) =
        std::get<markets::GmxPool>(markets_.back()).total_supply();
  } else if (const auto* gtrade = std::get_if<markets::GtradeParams>(&params)) {
    ledger_.venue(gtrade->collateral_asset) -= gtrade->initial_vault_assets;
    markets_.emplace_back(markets::GtradeVault(*gtrade));
    ledger_.shares(genesis_account_, static_cast<core::MarketIndex>(m)) =
        std::get<markets::GtradeVault>(markets_.back()).total_shares();
  } else {
    const auto& vamm = std::get<markets::VammParams>(params);
    ledger_.venue(vamm.quote_asset) -= vamm.initial_insurance_fund;
    markets_.emplace_back(markets::Vamm(vamm));
  }
  perp_markets_.push_back(static_cast<core::MarketIndex>(m));
}

void World::settle_perp_funding() {
  const double now = static_cast<double>(block_) * spec_.block_time_seconds;
  for (const core::MarketIndex m : perp_markets_) {
    auto* vamm = std::get_if<markets::Vamm>(&markets_[m]);
    if (vamm == nullptr || now < vamm->next_funding_seconds()) continue;
    // A keeper calls ClearingHouse.payFunding once it is due (Perp v1 ran
    // one); the index is the oracle price.
    const markets::VammFundingResult result = vamm->settle_funding(protocol_prices_[vamm->params().base_asset], now);
    if (!result.succeeded()) continue;
    perp_totals_[m].funding_to_pool += result.to_insurance_fund;
    ++market_versions_[m];
  }
}

void World::account_perp(const core::Receipt& receipt) {
  const core::Transaction& transaction = receipt.transaction;
  PerpTotals& totals = perp_totals_[transaction.market];
  totals.position_fees += receipt.perp_position_fees;
  const bool vamm = std::holds_alternative<markets::Vamm>(markets_[transaction.market]);
  // A vamm's funding goes to the insurance fund when it is settled (above);
  // a gmx pool's borrow fees and a gtrade vault's funding and rollover when
  // a position pays them.
  if (!vamm) totals.funding_to_pool += receipt.perp_funding_fees;
  switch (transaction.kind) {
    case core::TransactionKind::perp_open:
      totals.positions_opened += 1.0;
      totals.notional_opened += transaction.amount_in * protocol_prices_[transaction.token_in] * transaction.leverage;
      break;
    case core::TransactionKind::perp_close: totals.positions_closed += 1.0; break;
    case core::TransactionKind::perp_liquidate:
      totals.liquidations += 1.0;
      totals.bad_debt += receipt.bad_debt_written_off;
      break;
    default: break;
  }
}

World::PerpMark World::mark_perp(core::MarketIndex m) {
  PerpMark mark;
  const double now = static_cast<double>(block_) * spec_.block_time_seconds;
  if (auto* gmx = std::get_if<markets::GmxPool>(&markets_[m])) {
    gmx->mark(reference_prices_);  // the engine owns the market; marking changes only its PnL split
    mark.value = gmx->aum(reference_prices_);
    mark.share_price = gmx->share_price(reference_prices_);
    mark.pnl = gmx->pnl();
    for (std::size_t slot = 0; slot < gmx->open_position_count(); ++slot) {
      const markets::GmxPosition& position = gmx->position(gmx->open_position_id(slot));
      (position.side == markets::PerpSide::long_ ? mark.long_open_interest : mark.short_open_interest) +=
          position.size_usd;
    }
  } else if (const auto* gtrade = std::get_if<markets::GtradeVault>(&markets_[m])) {
    const double price = reference_prices_[gtrade->params().traded_asset];
    const double stable_price = reference_prices_[gtrade->params().collateral_asset];
    const double marked = gtrade->marked_vault_assets(price, now);
    mark.value = marked * stable_price;
    mark.share_price = gtrade->share_price_at(marked);
    mark.pnl = gtrade->pool_pnl();
    mark.pnl.trader_pnl += marked - gtrade->vault_assets();
    mark.pnl.fees *= stable_price;
    mark.pnl.trader_pnl *= stable_price;
    mark.long_open_interest = gtrade->open_interest_usd(markets::PerpSide::long_);
    mark.short_open_interest = gtrade->open_interest_usd(markets::PerpSide::short_);
  } else {
    const auto& vamm = std::get<markets::Vamm>(markets_[m]);
    const double quote_price = reference_prices_[vamm.params().quote_asset];
    mark.value = vamm.pool_value() * quote_price;
    mark.share_price = vamm.pool_value() / vamm.params().initial_insurance_fund;  // > 0 (config)
    mark.pnl = vamm.pool_pnl();
    mark.pnl.fees *= quote_price;
    mark.pnl.trader_pnl *= quote_price;
    for (std::size_t slot = 0; slot < vamm.open_position_count(); ++slot) {
      const markets::VammPosition position = vamm.position(vamm.open_position_id(slot));
      (position.side == markets::PerpSide::long_ ? mark.long_open_interest : mark.short_open_interest) +=
          position.open_notional;
    }
  }
  return mark;
}

void World::track_perp_markets() {
  for (const core::MarketIndex m : perp_markets_) {
    const PerpMark mark = mark_perp(m);
    PerpTotals& totals = perp_totals_[m];
    totals.peak_share_price = std::max(totals.peak_share_price, mark.share_price);
    if (totals.peak_share_price > 0.0) {
      totals.max_drawdown = std::max(totals.max_drawdown, 1.0 - mark.share_price / totals.peak_share_price);
    }
    totals.min_pool_value = std::min(totals.min_pool_value, mark.value);
    const double open_interest = mark.long_open_interest + mark.short_open_interest;
    totals.peak_open_interest = std::max(totals.peak_open_interest, open_interest);
    if (open_interest > 0.0) {
      totals.skew_sum += (mark.long_open_interest - mark.short_open_interest) / open_interest;
      totals.skew_blocks += 1.0;
    }
  }
}

// In the order of ScenarioPlan::add_perp_metrics.
void World::record_perp(core::MarketIndex m, std::span<double> series, std::size_t sample) {
  const std::size_t samples = plan_.samples();
  const std::size_t offset = plan_.market_slots[m].series_offset;
  auto slot = [&](std::size_t i) -> double& { return series[(offset + i) * samples + sample]; };
  const PerpMark mark = mark_perp(m);
  const double open_interest = mark.long_open_interest + mark.short_open_interest;
  slot(0) = mark.share_price;
  slot(1) = mark.value;
  slot(2) = mark.long_open_interest;
  slot(3) = mark.short_open_interest;
  slot(4) = open_interest > 0.0 ? (mark.long_open_interest - mark.short_open_interest) / open_interest : 0.0;
  slot(5) = mark.pnl.fees;
  slot(6) = mark.pnl.trader_pnl;
  slot(7) = mark.pnl.delta_pnl;
}

void World::finish_perp(core::MarketIndex m, std::span<double> outcomes) {
  const PerpMark mark = mark_perp(m);
  const PerpTotals& totals = perp_totals_[m];
  const auto* vamm = std::get_if<markets::Vamm>(&markets_[m]);
  const double uncovered = vamm != nullptr ? vamm->uncovered_bad_debt() * reference_prices_[vamm->params().quote_asset] : 0.0;
  double* out = outcomes.data() + plan_.market_slots[m].outcome_offset;
  out[0] = mark.pnl.total();
  out[1] = mark.pnl.fees;
  out[2] = mark.pnl.trader_pnl;
  out[3] = mark.pnl.delta_pnl;
  out[4] = mark.share_price;
  out[5] = totals.max_drawdown;
  out[6] = totals.min_pool_value;
  out[7] = totals.min_pool_value < 0.0 || uncovered > 0.0 ? 1.0 : 0.0;
  out[8] = totals.funding_to_pool;
  out[9] = totals.position_fees;
  out[10] = totals.positions_opened;
  out[11] = totals.notional_opened;
  out[12] = totals.positions_closed;
  out[13] = totals.liquidations;
  out[14] = totals.bad_debt;
  out[15] = uncovered;
  out[16] = totals.peak_open_interest;
  out[17] = totals.skew_blocks > 0.0 ? totals.skew_sum / totals.skew_blocks : 0.0;
}

}  // namespace defisim::engine
