#include "markets/lending.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "framework/core/deterministic_math.hpp"
#include "markets/lending_auction.hpp"

namespace defisim::markets {

namespace {

using core::RevertReason;
using lending_detail::IndexEntry;
using lending_detail::PositionIndex;

// A position's collateral counts as gone (its debt is written off) when the
// collateral it can still be liquidated for is worth at most this fraction
// of its debt: far below anything a liquidator would pay gas to seize, far
// above the rounding of a seizure that took "everything", and above what a
// liquidator leaves when it sizes its repayment with a relative safety
// margin (1e-9 of it; agents/liquidator.cpp does). At 1e-12 such leftovers
// kept insolvent positions on the books as underwater debt instead of bad
// debt (found by experiments/short_squeeze).
constexpr double dust_ratio = 1e-6;
// An auction's tab (lot) counts as covered (sold out) at this fraction of
// its value at bark: rounding in slice = owe / price can leave a few ulps.
constexpr double auction_dust_ratio = 1e-12;
// compound_v2: a repay_amount above close_factor x borrow balance reverts
// (Comptroller TOO_MUCH_REPAY), except within this relative margin, where it
// is capped: an agent computing close_factor x debt(...) itself must not
// revert on an ulp of difference.
constexpr double compound_repay_allowance = 1e-9;
// compound_v2: a seizure this close above the collateral held (rounding in
// repay x incentive x price ratio, for a repay computed to seize exactly
// everything) seizes everything instead of reverting.
constexpr double seize_all_allowance = 1e-12;
// positions_below: candidates from the key comparison are taken with this
// relative margin and then checked with health_factor itself, so rounding
// in the key cannot drop a position whose health factor is below the bound.
constexpr double index_key_slack = 1e-9;

bool positive_finite(double value) { return value > 0.0 && std::isfinite(value); }
bool non_negative_finite(double value) { return value >= 0.0 && std::isfinite(value); }
bool in_unit_interval(double value) { return value >= 0.0 && value <= 1.0; }

void require(bool condition, const std::string& what) {
  if (!condition) throw std::invalid_argument("lending: " + what);
}

// Scaled amount removed for `amount` tokens at `index`, never more than the
// position holds; `everything` removes exactly what it holds (no dust left
// by amount / index rounding up or down).
double scaled_removal(double held_scaled, double amount, double index, bool everything) {
  if (everything) return held_scaled;
  return std::min(held_scaled, amount / index);
}

}  // namespace

double InterestRateCurve::borrow_rate(double utilisation) const {
  // Aave v2 DefaultReserveInterestRateStrategy.calculateInterestRates and
  // Compound v2 JumpRateModelV2.getBorrowRate (whose jump multiplier is per
  // unit of utilisation above the kink: slope_above_kink = jump x (1 - kink)).
  const double u = std::clamp(utilisation, 0.0, 1.0);
  if (u <= optimal_utilisation) return base_rate + slope_below_kink * (u / optimal_utilisation);
  return base_rate + slope_below_kink +
         slope_above_kink * ((u - optimal_utilisation) / (1.0 - optimal_utilisation));
}

double Lending::Valuation::health_factor() const {
  if (!(debt > 0.0)) return std::numeric_limits<double>::infinity();
  return weighted_collateral / debt;
}

// ------------------------------------------------------------ construction ----

Lending::Lending(const LendingParams& params, core::AgentIndex genesis_owner) : params_(params) {
  const std::size_t count = params_.assets.size();
  require(count >= 1 && count <= max_lending_assets, "between 1 and 6 assets");
  for (std::size_t slot = 0; slot < count; ++slot) {
    const LendingAssetParams& asset = params_.assets[slot];
    const std::string name = "asset " + std::to_string(asset.asset) + ": ";
    for (std::size_t other = 0; other < slot; ++other) {
      require(params_.assets[other].asset != asset.asset, name + "listed twice");
    }
    require(non_negative_finite(asset.initial_supply), name + "initial_supply must be >= 0 and finite");
    // Aave's configurator: ltv <= liquidation threshold; both fractions.
    require(in_unit_interval(asset.loan_to_value), name + "loan_to_value must be in [0, 1]");
    require(in_unit_interval(asset.liquidation_threshold), name + "liquidation_threshold must be in [0, 1]");
    require(asset.loan_to_value <= asset.liquidation_threshold, name + "loan_to_value must be <= liquidation_threshold");
    require(non_negative_finite(asset.liquidation_bonus), name + "liquidation_bonus must be >= 0 and finite");
    require(in_unit_interval(asset.reserve_factor), name + "reserve_factor must be in [0, 1]");
    require(asset.supply_cap >= 0.0, name + "supply_cap must be >= 0");
    require(asset.borrow_cap >= 0.0, name + "borrow_cap must be >= 0");
    const InterestRateCurve& rate = asset.rate;
    require(non_negative_finite(rate.base_rate) && non_negative_finite(rate.slope_below_kink) &&
                non_negative_finite(rate.slope_above_kink),
            name + "rate curve: base and slopes must be >= 0 and finite");
    require(rate.optimal_utilisation > 0.0 && rate.optimal_utilisation <= 1.0,
            name + "rate curve: optimal_utilisation must be in (0, 1]");
  }
  require(params_.close_factor > 0.0 && params_.close_factor <= 1.0, "close_factor must be in (0, 1]");
  require(in_unit_interval(params_.full_liquidation_health_factor), "full_liquidation_health_factor must be in [0, 1]");
  require(in_unit_interval(params_.liquidation_protocol_fee), "liquidation_protocol_fee must be in [0, 1]");
  require(in_unit_interval(params_.protocol_seize_share), "protocol_seize_share must be in [0, 1]");
  const AuctionParams& auction = params_.auction;
  require(positive_finite(auction.buf), "auction.buf must be > 0 and finite");
  require(positive_finite(auction.tau_seconds), "auction.tau_seconds must be > 0 and finite");
  require(auction.cut > 0.0 && auction.cut <= 1.0, "auction.cut must be in (0, 1]");
  require(positive_finite(auction.step_seconds), "auction.step_seconds must be > 0 and finite");
  require(auction.tail_seconds > 0.0, "auction.tail_seconds must be > 0");
  require(in_unit_interval(auction.cusp), "auction.cusp must be in [0, 1]");
  require(params_.max_positions >= 1 && params_.max_positions < 0xFFFF'FFFFu, "max_positions must be >= 1");

  asset_count_ = count;
  // Everything a run can need, now: operations never allocate afterwards.
  positions_.reserve(params_.max_positions);
  versions_.reserve(params_.max_positions);
  complex_.reserve(params_.max_positions);
  complex_snapshot_.sorted.reserve(params_.max_positions);
  complex_snapshot_.changed_capacity = PositionIndex::buffer_capacity_for(params_.max_positions);
  complex_snapshot_.changed.reserve(complex_snapshot_.changed_capacity);
  index_ = PositionIndex(params_.max_positions);
  auctions_.reserve(params_.max_auctions);
  auction_books_.reserve(params_.max_auctions);
  active_auctions_.reserve(params_.max_auctions);

  PositionState genesis;
  genesis.owner = genesis_owner;
  for (std::size_t slot = 0; slot < count; ++slot) {
    const double supplied = params_.assets[slot].initial_supply;
    pools_[slot].cash = supplied;
    pools_[slot].scaled_supply = supplied;  // indices start at 1
    genesis.scaled_supply[slot] = supplied;
  }
  positions_.push_back(genesis);
  versions_.push_back(0);
}

std::size_t Lending::asset_count() const { return asset_count_; }

core::AssetIndex Lending::asset(std::size_t slot) const {
  return slot < asset_count_ ? params_.assets[slot].asset : core::AssetIndex{0};
}

bool Lending::lists(core::AssetIndex asset) const { return slot_of(asset) < asset_count_; }

std::size_t Lending::slot_of(core::AssetIndex asset) const {
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    if (params_.assets[slot].asset == asset) return slot;
  }
  return asset_count_;
}

// ----------------------------------------------------------------- accrual ----

Lending::Pool Lending::projected(std::size_t slot, double now_seconds) const {
  Projection& memo = projections_[slot];
  if (memo.valid && memo.now_seconds == now_seconds && memo.input == pools_[slot]) return memo.output;
  memo.output = project(pools_[slot], params_.assets[slot], now_seconds);
  memo.input = pools_[slot];
  memo.now_seconds = now_seconds;
  memo.valid = true;
  return memo.output;
}

Lending::Pool Lending::project(Pool pool, const LendingAssetParams& asset, double now_seconds) {
  const double elapsed_seconds = now_seconds - pool.last_accrual_seconds;
  if (!(elapsed_seconds > 0.0)) return pool;  // same time, the past, or NaN: nothing accrues
  pool.last_accrual_seconds = now_seconds;
  const double debt = pool.scaled_debt * pool.borrow_index;
  if (!(debt > 0.0)) return pool;
  // The rate of the utilisation at the start of the interval, compounded
  // per second: (1 + rate / seconds_per_year) ^ elapsed (README: "Interest"),
  // evaluated as exp(elapsed x log1p(rate / seconds_per_year)): rounding
  // 1 + rate / seconds_per_year to a double would cost ~7e-8 of the
  // per-second rate, log1p keeps it to an ulp.
  const double rate = asset.rate.borrow_rate(debt / (pool.cash + debt));
  const double growth = core::exp_det(elapsed_seconds * std::log1p(rate / core::seconds_per_year));
  pool.borrow_index *= growth;
  // The interest is what the total debt actually grew by (not debt x
  // (growth - 1)), so the accounting identity holds to rounding.
  const double interest = pool.scaled_debt * pool.borrow_index - debt;
  const double to_reserves = interest * asset.reserve_factor;
  const double to_suppliers = interest - to_reserves;
  pool.reserves += to_reserves;
  const double supply = pool.scaled_supply * pool.supply_index;
  if (supply > 0.0) {
    pool.supply_index *= (supply + to_suppliers) / supply;
  } else {
    pool.reserves += to_suppliers;  // no supplier left to pay (after a total loss)
  }
  return pool;
}

void Lending::accrue_all(double now_seconds) {
  for (std::size_t slot = 0; slot < asset_count_; ++slot) pools_[slot] = projected(slot, now_seconds);
}

void Lending::accrue(double now_seconds) { accrue_all(now_seconds); }

Lending::SlotIndices Lending::all_indices(double now_seconds) const {
  SlotIndices indices{};
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    const Pool pool = projected(slot, now_seconds);
    indices[slot] = {pool.supply_index, pool.borrow_index};
  }
  return indices;
}

Lending::SlotIndices Lending::indices_for(const PositionState& position, double now_seconds) const {
  // Only the slots the position uses: the same per-slot projection as
  // all_indices, so both give bit-identical health factors.
  SlotIndices indices{};
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    if (position.scaled_supply[slot] > 0.0 || position.scaled_debt[slot] > 0.0) {
      const Pool pool = projected(slot, now_seconds);
      indices[slot] = {pool.supply_index, pool.borrow_index};
    }
  }
  return indices;
}

// ------------------------------------------------------------------- pools ----

double Lending::cash(core::AssetIndex asset) const {
  const std::size_t slot = slot_of(asset);
  return slot < asset_count_ ? pools_[slot].cash : 0.0;
}

double Lending::total_debt(core::AssetIndex asset, double now_seconds) const {
  const std::size_t slot = slot_of(asset);
  if (slot == asset_count_) return 0.0;
  const Pool pool = projected(slot, now_seconds);
  return pool.scaled_debt * pool.borrow_index;
}

double Lending::total_supply(core::AssetIndex asset, double now_seconds) const {
  const std::size_t slot = slot_of(asset);
  if (slot == asset_count_) return 0.0;
  const Pool pool = projected(slot, now_seconds);
  return pool.scaled_supply * pool.supply_index;
}

double Lending::reserves(core::AssetIndex asset, double now_seconds) const {
  const std::size_t slot = slot_of(asset);
  return slot < asset_count_ ? projected(slot, now_seconds).reserves : 0.0;
}

double Lending::utilisation(core::AssetIndex asset, double now_seconds) const {
  const std::size_t slot = slot_of(asset);
  if (slot == asset_count_) return 0.0;
  const Pool pool = projected(slot, now_seconds);
  const double debt = pool.scaled_debt * pool.borrow_index;
  return debt > 0.0 ? debt / (pool.cash + debt) : 0.0;
}

double Lending::borrow_rate(core::AssetIndex asset, double now_seconds) const {
  const std::size_t slot = slot_of(asset);
  if (slot == asset_count_) return 0.0;
  return params_.assets[slot].rate.borrow_rate(utilisation(asset, now_seconds));
}

double Lending::borrow_index(core::AssetIndex asset, double now_seconds) const {
  const std::size_t slot = slot_of(asset);
  return slot < asset_count_ ? projected(slot, now_seconds).borrow_index : 0.0;
}

double Lending::supply_index(core::AssetIndex asset, double now_seconds) const {
  const std::size_t slot = slot_of(asset);
  return slot < asset_count_ ? projected(slot, now_seconds).supply_index : 0.0;
}

double Lending::holdings_of(core::AssetIndex asset) const {
  const std::size_t slot = slot_of(asset);
  if (slot == asset_count_) return 0.0;
  const Pool& pool = pools_[slot];
  return pool.cash + pool.auction_collateral + pool.protocol_collateral;
}

double Lending::pool_field(core::AssetIndex asset, double Pool::*field) const {
  const std::size_t slot = slot_of(asset);
  return slot < asset_count_ ? pools_[slot].*field : 0.0;
}

double Lending::bad_debt(core::AssetIndex asset) const { return pool_field(asset, &Pool::bad_debt); }

double Lending::supplier_loss(core::AssetIndex asset) const { return pool_field(asset, &Pool::supplier_loss); }

double Lending::protocol_collateral(core::AssetIndex asset) const { return pool_field(asset, &Pool::protocol_collateral); }

double Lending::auction_collateral(core::AssetIndex asset) const { return pool_field(asset, &Pool::auction_collateral); }

double Lending::auction_debt(core::AssetIndex asset) const { return pool_field(asset, &Pool::auction_debt); }

// --------------------------------------------------------------- positions ----

bool Lending::prices_usable(std::span<const double> prices) const {
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    const core::AssetIndex asset = params_.assets[slot].asset;
    if (asset >= prices.size() || !positive_finite(prices[asset])) return false;
  }
  return true;
}

Lending::Valuation Lending::value(const PositionState& position, const SlotIndices& indices,
                                  std::span<const double> prices) const {
  Valuation valuation;
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    const LendingAssetParams& asset = params_.assets[slot];
    if (position.scaled_supply[slot] > 0.0) {
      const double worth = position.scaled_supply[slot] * indices[slot].supply * prices[asset.asset];
      valuation.weighted_collateral += worth * asset.liquidation_threshold;
      valuation.borrowing_power += worth * asset.loan_to_value;
      valuation.collateral += worth;
      if (asset.liquidation_threshold > 0.0) valuation.seizable_collateral += worth;
    }
    if (position.scaled_debt[slot] > 0.0) {
      valuation.debt += position.scaled_debt[slot] * indices[slot].borrow * prices[asset.asset];
    }
  }
  return valuation;
}

std::size_t Lending::position_count() const { return positions_.size(); }

core::AgentIndex Lending::owner(PositionId position) const {
  return position < positions_.size() ? positions_[position].owner : core::no_agent;
}

double Lending::collateral(PositionId position, core::AssetIndex asset, double now_seconds) const {
  const std::size_t slot = slot_of(asset);
  if (position >= positions_.size() || slot == asset_count_) return 0.0;
  const double scaled = positions_[position].scaled_supply[slot];
  return scaled > 0.0 ? scaled * projected(slot, now_seconds).supply_index : 0.0;
}

double Lending::debt(PositionId position, core::AssetIndex asset, double now_seconds) const {
  const std::size_t slot = slot_of(asset);
  if (position >= positions_.size() || slot == asset_count_) return 0.0;
  const double scaled = positions_[position].scaled_debt[slot];
  return scaled > 0.0 ? scaled * projected(slot, now_seconds).borrow_index : 0.0;
}

namespace {
bool prices_cover(std::span<const double> prices, const std::vector<LendingAssetParams>& assets) {
  for (const LendingAssetParams& asset : assets) {
    if (asset.asset >= prices.size()) return false;
  }
  return true;
}
}  // namespace

double Lending::health_factor(PositionId position, std::span<const double> prices, double now_seconds) const {
  if (position >= positions_.size() || !prices_cover(prices, params_.assets)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const PositionState& state = positions_[position];
  return value(state, indices_for(state, now_seconds), prices).health_factor();
}

double Lending::borrowing_headroom(PositionId position, std::span<const double> prices, double now_seconds) const {
  if (position >= positions_.size() || !prices_cover(prices, params_.assets)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const PositionState& state = positions_[position];
  const Valuation valuation = value(state, indices_for(state, now_seconds), prices);
  return valuation.borrowing_power - valuation.debt;
}

double Lending::collateral_value(PositionId position, std::span<const double> prices, double now_seconds) const {
  if (position >= positions_.size() || !prices_cover(prices, params_.assets)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const PositionState& state = positions_[position];
  return value(state, indices_for(state, now_seconds), prices).collateral;
}

double Lending::debt_value(PositionId position, std::span<const double> prices, double now_seconds) const {
  if (position >= positions_.size() || !prices_cover(prices, params_.assets)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const PositionState& state = positions_[position];
  return value(state, indices_for(state, now_seconds), prices).debt;
}

// ------------------------------------------------------------------- index ----

void Lending::reindex(PositionId position) {
  const std::uint32_t version = ++versions_[position];
  PositionState& state = positions_[position];
  std::size_t collaterals = 0;
  std::size_t debts = 0;
  std::size_t collateral_slot = 0;
  std::size_t debt_slot = 0;
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    if (state.scaled_supply[slot] > 0.0 && params_.assets[slot].liquidation_threshold > 0.0) {
      ++collaterals;
      collateral_slot = slot;
    }
    if (state.scaled_debt[slot] > 0.0) {
      ++debts;
      debt_slot = slot;
    }
  }
  const bool complex = debts > 0 && !(collaterals == 1 && debts == 1);
  if (collaterals == 1 && debts == 1) {
    IndexEntry entry;
    entry.key = state.scaled_debt[debt_slot] /
                (state.scaled_supply[collateral_slot] * params_.assets[collateral_slot].liquidation_threshold);
    entry.position = position;
    entry.version = version;
    entry.pair = static_cast<std::uint16_t>(collateral_slot * PositionIndex::pair_stride + debt_slot);
    index_.insert(entry, versions_);
  }
  if (complex && state.changed_generation != complex_snapshot_.generation) {
    // Its snapshot entry (if any) is stale now: queries check it directly.
    if (complex_snapshot_.changed.size() < complex_snapshot_.changed_capacity) {
      complex_snapshot_.changed.push_back(position);
      state.changed_generation = complex_snapshot_.generation;
    } else {
      complex_snapshot_.valid = false;
    }
  }
  if (complex && state.complex_slot == no_complex_slot) {
    state.complex_slot = static_cast<std::uint32_t>(complex_.size());
    complex_.push_back(position);
  } else if (!complex && state.complex_slot != no_complex_slot) {
    const PositionId last = complex_.back();
    complex_[state.complex_slot] = last;
    positions_[last].complex_slot = state.complex_slot;
    complex_.pop_back();
    state.complex_slot = no_complex_slot;
  }
}

std::size_t Lending::positions_below(double bound, std::span<const double> prices, double now_seconds,
                                     std::span<PositionId> out) const {
  // Health factors are >= 0 (or NaN, never below anything).
  if (!(bound > 0.0) || out.empty() || !prices_cover(prices, params_.assets)) return 0;
  const SlotIndices indices = all_indices(now_seconds);
  std::size_t found = 0;
  // The exact test, the same arithmetic as health_factor(); false when out is full.
  const auto consider = [&](PositionId position) {
    if (value(positions_[position], indices, prices).health_factor() < bound) out[found++] = position;
    return found < out.size();
  };
  // HF < bound <=> key > P_c SI_c / (P_d BI_d bound), taken with a margin.
  std::array<double, PositionIndex::pair_count> key_above{};
  for (std::size_t c = 0; c < asset_count_; ++c) {
    for (std::size_t d = 0; d < asset_count_; ++d) {
      const double collateral_side = prices[params_.assets[c].asset] * indices[c].supply;
      const double debt_side = prices[params_.assets[d].asset] * indices[d].borrow * bound;
      key_above[c * PositionIndex::pair_stride + d] = collateral_side / debt_side * (1.0 - index_key_slack);
    }
  }
  for (std::size_t c = 0; c < asset_count_; ++c) {
    for (std::size_t d = 0; d < asset_count_; ++d) {
      const std::size_t pair = c * PositionIndex::pair_stride + d;
      for (const IndexEntry& entry : index_.sorted(pair)) {
        if (!(entry.key > key_above[pair])) break;  // key descending: the rest are healthier
        if (versions_[entry.position] != entry.version) continue;
        if (!consider(entry.position)) return found;
      }
      for (const IndexEntry& entry : index_.buffered(pair)) {
        if (!(entry.key > key_above[pair])) break;  // likewise
        if (versions_[entry.position] != entry.version) continue;
        if (!consider(entry.position)) return found;
      }
    }
  }
  if (complex_.empty()) return found;
  ComplexSnapshot& snapshot = complex_snapshot_;
  // g: the worst move of the collateral sides over the best of the debt
  // sides since the snapshot (slots whose side was 0 hold no value then or now).
  const auto worst_move = [&] {
    double collateral_move = INFINITY, debt_move = 0.0;
    for (std::size_t slot = 0; slot < asset_count_; ++slot) {
      const double price = prices[params_.assets[slot].asset];
      if (snapshot.collateral_side[slot] > 0.0) {
        collateral_move = std::min(collateral_move, price * indices[slot].supply / snapshot.collateral_side[slot]);
      }
      debt_move = std::max(debt_move, price * indices[slot].borrow / snapshot.debt_side[slot]);
    }
    return debt_move > 0.0 && collateral_move < INFINITY ? collateral_move / debt_move : 1.0;
  };
  double move = snapshot.valid ? worst_move() : 0.0;
  if (!(move >= 0.5)) {
    rebuild_complex_snapshot(indices, prices);
    move = 1.0;
  }
  // Safe for sure: health at the snapshot >= bound / (g (1 - slack)).
  const double safe_from = bound / (move * (1.0 - index_key_slack));
  for (const ComplexEntry& entry : snapshot.sorted) {
    if (!(entry.health < safe_from)) break;
    if (versions_[entry.position] != entry.version) continue;  // changed since: checked below
    if (!consider(entry.position)) return found;
  }
  for (const PositionId position : snapshot.changed) {
    if (positions_[position].complex_slot == no_complex_slot) continue;  // in the pair index now (or no debt)
    if (!consider(position)) return found;
  }
  return found;
}

void Lending::rebuild_complex_snapshot(const SlotIndices& indices, std::span<const double> prices) const {
  ComplexSnapshot& snapshot = complex_snapshot_;
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    const double price = prices[params_.assets[slot].asset];
    snapshot.collateral_side[slot] = price * indices[slot].supply;
    snapshot.debt_side[slot] = price * indices[slot].borrow;
  }
  snapshot.sorted.clear();
  for (const PositionId position : complex_) {
    snapshot.sorted.push_back({value(positions_[position], indices, prices).health_factor(), position, versions_[position]});
  }
  // A total order (health, then position), so the result never depends on
  // std::sort's handling of ties. A NaN health (prices were checked: none
  // expected) counts as 0, so the position is always checked.
  for (ComplexEntry& entry : snapshot.sorted) {
    if (std::isnan(entry.health)) entry.health = 0.0;
  }
  std::sort(snapshot.sorted.begin(), snapshot.sorted.end(), [](const ComplexEntry& a, const ComplexEntry& b) {
    return a.health != b.health ? a.health < b.health : a.position < b.position;
  });
  snapshot.changed.clear();
  ++snapshot.generation;
  snapshot.valid = true;
}

// -------------------------------------------------------------- operations ----

LendingResult Lending::open_position(core::AgentIndex owner) {
  LendingResult result;
  if (positions_.size() >= params_.max_positions) {
    result.revert_reason = RevertReason::insufficient_liquidity;
    return result;
  }
  PositionState state;
  state.owner = owner;
  result.position = static_cast<PositionId>(positions_.size());
  positions_.push_back(state);
  versions_.push_back(0);
  return result;
}

// What every position operation checks first, in this order.
RevertReason Lending::check_operation(PositionId position, std::size_t slot, bool amount_valid) const {
  if (position >= positions_.size()) return RevertReason::not_owner;
  if (slot == asset_count_) return RevertReason::invalid_token;
  if (!amount_valid) return RevertReason::invalid_amount;
  return RevertReason::none;
}

LendingResult Lending::supply(PositionId position, core::AssetIndex asset, double amount, double now_seconds) {
  LendingResult result;
  result.position = position;
  const std::size_t slot = slot_of(asset);
  result.revert_reason = check_operation(position, slot, positive_finite(amount));
  if (result.succeeded() && !(pools_[slot].supply_index > 0.0)) {
    result.revert_reason = RevertReason::unsupported;  // a pool whose suppliers were wiped out
  }
  if (!result.succeeded()) return result;
  PositionState& state = positions_[position];
  if (params_.rules == LendingRules::maker && position != 0) {
    // A vault holds one collateral asset (and gets the lot of its running
    // auctions back in that asset).
    for (std::size_t other = 0; other < asset_count_; ++other) {
      if (other != slot && state.scaled_supply[other] > 0.0) result.revert_reason = RevertReason::unsupported;
    }
    if (state.active_auctions > 0 && state.auction_collateral_slot != slot) {
      result.revert_reason = RevertReason::unsupported;
    }
    if (!result.succeeded()) return result;
  }
  const Pool pool = projected(slot, now_seconds);
  if (pool.scaled_supply * pool.supply_index + amount > params_.assets[slot].supply_cap) {
    result.revert_reason = RevertReason::cap_exceeded;
    return result;
  }
  accrue_all(now_seconds);
  Pool& target = pools_[slot];
  const double scaled = amount / target.supply_index;
  state.scaled_supply[slot] += scaled;
  target.scaled_supply += scaled;
  target.cash += amount;
  reindex(position);
  result.amount = amount;
  return result;
}

LendingResult Lending::withdraw(PositionId position, core::AssetIndex asset, double amount,
                                std::span<const double> prices, double now_seconds) {
  LendingResult result;
  result.position = position;
  const std::size_t slot = slot_of(asset);
  // +inf: withdraw everything.
  result.revert_reason = check_operation(position, slot, amount > 0.0 && prices_usable(prices));
  if (!result.succeeded()) return result;
  PositionState& state = positions_[position];
  const SlotIndices indices = all_indices(now_seconds);
  const double held = state.scaled_supply[slot] * indices[slot].supply;
  if (!(held > 0.0)) {
    result.revert_reason = RevertReason::insufficient_collateral;
    return result;
  }
  // More than the balance withdraws the balance (Aave's type(uint256).max).
  const bool everything = amount >= held;
  const double withdrawn = everything ? held : amount;
  const double scaled = scaled_removal(state.scaled_supply[slot], withdrawn, indices[slot].supply, everything);
  if (pools_[slot].cash < withdrawn) {
    result.revert_reason = RevertReason::insufficient_liquidity;
    return result;
  }
  PositionState after = state;
  after.scaled_supply[slot] -= scaled;
  const Valuation valuation = value(after, indices, prices);
  if (valuation.debt > 0.0 && valuation.borrowing_power < valuation.debt) {
    result.revert_reason = RevertReason::unhealthy;
    return result;
  }
  accrue_all(now_seconds);
  Pool& pool = pools_[slot];
  state.scaled_supply[slot] = after.scaled_supply[slot];
  pool.scaled_supply = std::max(0.0, pool.scaled_supply - scaled);
  pool.cash -= withdrawn;
  reindex(position);
  result.amount = withdrawn;
  return result;
}

LendingResult Lending::borrow(PositionId position, core::AssetIndex asset, double amount,
                              std::span<const double> prices, double now_seconds) {
  LendingResult result;
  result.position = position;
  const std::size_t slot = slot_of(asset);
  result.revert_reason = check_operation(position, slot, positive_finite(amount) && prices_usable(prices));
  if (result.succeeded() && !params_.assets[slot].borrowable) result.revert_reason = RevertReason::unsupported;
  if (!result.succeeded()) return result;
  PositionState& state = positions_[position];
  if (params_.rules == LendingRules::maker) {
    // A vault: one collateral asset, one debt asset.
    std::size_t supplied = 0;
    for (std::size_t other = 0; other < asset_count_; ++other) {
      if (state.scaled_supply[other] > 0.0) ++supplied;
      if (other != slot && state.scaled_debt[other] > 0.0) result.revert_reason = RevertReason::unsupported;
    }
    if (supplied > 1) result.revert_reason = RevertReason::unsupported;
    if (!result.succeeded()) return result;
  }
  const SlotIndices indices = all_indices(now_seconds);
  const Pool& pool = pools_[slot];
  if (pool.scaled_debt * indices[slot].borrow + amount > params_.assets[slot].borrow_cap) {
    result.revert_reason = RevertReason::cap_exceeded;
    return result;
  }
  if (pool.cash < amount) {
    result.revert_reason = RevertReason::insufficient_liquidity;
    return result;
  }
  const double scaled = amount / indices[slot].borrow;
  PositionState after = state;
  after.scaled_debt[slot] += scaled;
  const Valuation valuation = value(after, indices, prices);
  if (valuation.borrowing_power < valuation.debt) {
    result.revert_reason = RevertReason::unhealthy;
    return result;
  }
  accrue_all(now_seconds);
  Pool& target = pools_[slot];
  state.scaled_debt[slot] = after.scaled_debt[slot];
  target.scaled_debt += scaled;
  target.cash -= amount;
  reindex(position);
  result.amount = amount;
  return result;
}

LendingResult Lending::repay(PositionId position, core::AssetIndex asset, double amount, double now_seconds) {
  LendingResult result;
  result.position = position;
  const std::size_t slot = slot_of(asset);
  result.revert_reason = check_operation(position, slot, amount > 0.0);  // +inf: repay everything
  if (!result.succeeded()) return result;
  PositionState& state = positions_[position];
  const double index = projected(slot, now_seconds).borrow_index;
  const double owed = state.scaled_debt[slot] * index;
  if (!(owed > 0.0)) {
    result.revert_reason = RevertReason::invalid_amount;  // nothing to repay (Aave: NO_DEBT_OF_SELECTED_TYPE)
    return result;
  }
  const bool everything = amount >= owed;
  const double repaid = everything ? owed : amount;
  const double scaled = scaled_removal(state.scaled_debt[slot], repaid, index, everything);
  accrue_all(now_seconds);
  Pool& pool = pools_[slot];
  state.scaled_debt[slot] = everything ? 0.0 : state.scaled_debt[slot] - scaled;
  pool.scaled_debt = std::max(0.0, pool.scaled_debt - scaled);
  pool.cash += repaid;
  reindex(position);
  result.amount = repaid;
  return result;
}

// ------------------------------------------------------------- liquidation ----

void Lending::absorb_bad_debt(std::size_t slot, double amount) {
  // Reserves first, then the suppliers pro rata through the supply index
  // (README: "Bad debt"). The debt itself was already removed by the caller.
  Pool& pool = pools_[slot];
  pool.bad_debt += amount;
  const double from_reserves = std::min(pool.reserves, amount);
  pool.reserves -= from_reserves;
  const double loss = amount - from_reserves;
  if (!(loss > 0.0)) return;
  pool.supplier_loss += loss;
  const double supply = pool.scaled_supply * pool.supply_index;
  if (supply > loss) {
    pool.supply_index *= (supply - loss) / supply;
  } else {
    pool.supply_index = 0.0;  // the suppliers lost everything; the pool takes no new supply
  }
}

double Lending::write_off(PositionId position, std::span<const double> prices) {
  // Pools are accrued to now by the caller.
  PositionState& state = positions_[position];
  double written_off_value = 0.0;
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    const double scaled = state.scaled_debt[slot];
    if (!(scaled > 0.0)) continue;
    Pool& pool = pools_[slot];
    const double amount = scaled * pool.borrow_index;
    pool.scaled_debt = std::max(0.0, pool.scaled_debt - scaled);
    state.scaled_debt[slot] = 0.0;
    absorb_bad_debt(slot, amount);
    written_off_value += amount * prices[params_.assets[slot].asset];
  }
  return written_off_value;
}

LiquidationResult Lending::liquidate(PositionId position, core::AssetIndex debt_asset,
                                     core::AssetIndex collateral_asset, double repay_amount,
                                     std::span<const double> prices, double now_seconds) {
  LiquidationResult result;
  if (position >= positions_.size()) {
    result.revert_reason = RevertReason::not_owner;
    return result;
  }
  if (params_.rules == LendingRules::maker) return bark(position, prices, now_seconds);
  const std::size_t debt_slot = slot_of(debt_asset);
  const std::size_t collateral_slot = slot_of(collateral_asset);
  if (debt_slot == asset_count_ || collateral_slot == asset_count_) {
    result.revert_reason = RevertReason::invalid_token;
  } else if (!(repay_amount > 0.0) || !prices_usable(prices)) {
    result.revert_reason = RevertReason::invalid_amount;  // +inf: as much as the rules allow
  }
  if (!result.succeeded()) return result;
  return liquidate_aave_compound(position, debt_slot, collateral_slot, repay_amount, prices, now_seconds);
}

LiquidationResult Lending::liquidate_aave_compound(PositionId position, std::size_t debt_slot,
                                                   std::size_t collateral_slot, double repay_amount,
                                                   std::span<const double> prices, double now_seconds) {
  LiquidationResult result;
  PositionState& state = positions_[position];
  const SlotIndices indices = all_indices(now_seconds);
  const Valuation before = value(state, indices, prices);
  const double health = before.health_factor();
  if (!(health < 1.0)) {
    result.revert_reason = RevertReason::healthy;
    return result;
  }
  if (!(before.seizable_collateral > dust_ratio * before.debt)) {
    // Nothing left to seize: the whole debt is bad debt now.
    accrue_all(now_seconds);
    result.bad_debt_written_off = write_off(position, prices);
    reindex(position);
    return result;
  }
  const LendingAssetParams& collateral_params = params_.assets[collateral_slot];
  const double debt_held = state.scaled_debt[debt_slot] * indices[debt_slot].borrow;
  const double collateral_held = state.scaled_supply[collateral_slot] * indices[collateral_slot].supply;
  if (!(debt_held > 0.0)) {
    result.revert_reason = RevertReason::invalid_amount;  // no debt in this asset to repay
    return result;
  }
  if (!(collateral_held > 0.0) || !(collateral_params.liquidation_threshold > 0.0)) {
    result.revert_reason = RevertReason::insufficient_collateral;
    return result;
  }
  const double debt_price = prices[params_.assets[debt_slot].asset];
  const double collateral_price = prices[collateral_params.asset];
  const double incentive = 1.0 + collateral_params.liquidation_bonus;
  const bool v3 = params_.rules == LendingRules::aave_v3;
  const bool compound = params_.rules == LendingRules::compound_v2;
  const double close_factor =
      v3 && health < params_.full_liquidation_health_factor ? 1.0 : params_.close_factor;
  const double max_repay = close_factor * debt_held;

  double repaid = std::min(repay_amount, max_repay);
  double seized = 0.0;
  bool all_collateral = false;
  if (compound) {
    // Comptroller.liquidateBorrowAllowed: TOO_MUCH_REPAY above the close factor.
    if (repay_amount > max_repay * (1.0 + compound_repay_allowance)) {
      result.revert_reason = RevertReason::invalid_amount;
      return result;
    }
    // liquidateCalculateSeizeTokens, in underlying rather than cTokens.
    seized = repaid * incentive * debt_price / collateral_price;
    if (seized > collateral_held * (1.0 + seize_all_allowance)) {
      result.revert_reason = RevertReason::insufficient_collateral;  // LIQUIDATE_SEIZE_TOO_MUCH
      return result;
    }
    if (seized >= collateral_held) {
      seized = collateral_held;
      all_collateral = true;
    }
  } else {
    // _calculateAvailableCollateralToLiquidate.
    seized = repaid * debt_price * incentive / collateral_price;
    if (seized >= collateral_held) {
      seized = collateral_held;
      repaid = std::min(repaid, collateral_held * collateral_price / debt_price / incentive);
      all_collateral = true;
    }
  }
  double to_protocol = 0.0;
  if (v3) {
    const double bonus_part = seized - seized / incentive;
    to_protocol = bonus_part * params_.liquidation_protocol_fee;
  } else if (compound) {
    to_protocol = seized * params_.protocol_seize_share;
  }
  const double to_liquidator = seized - to_protocol;
  const bool all_debt = repaid >= debt_held;
  if (all_debt) repaid = debt_held;
  // The liquidator is paid in the underlying: it must be in cash (Aave v2
  // LPCM_NOT_ENOUGH_LIQUIDITY_TO_LIQUIDATE).
  const double cash_for_payout = pools_[collateral_slot].cash + (collateral_slot == debt_slot ? repaid : 0.0);
  if (cash_for_payout < to_liquidator) {
    result.revert_reason = RevertReason::insufficient_liquidity;
    return result;
  }

  accrue_all(now_seconds);
  Pool& debt_pool = pools_[debt_slot];
  const double scaled_debt = scaled_removal(state.scaled_debt[debt_slot], repaid, debt_pool.borrow_index, all_debt);
  state.scaled_debt[debt_slot] = all_debt ? 0.0 : state.scaled_debt[debt_slot] - scaled_debt;
  debt_pool.scaled_debt = std::max(0.0, debt_pool.scaled_debt - scaled_debt);
  debt_pool.cash += repaid;
  Pool& collateral_pool = pools_[collateral_slot];
  const double scaled_collateral = scaled_removal(state.scaled_supply[collateral_slot], seized,
                                                  collateral_pool.supply_index, all_collateral);
  state.scaled_supply[collateral_slot] =
      all_collateral ? 0.0 : state.scaled_supply[collateral_slot] - scaled_collateral;
  collateral_pool.scaled_supply = std::max(0.0, collateral_pool.scaled_supply - scaled_collateral);
  collateral_pool.cash -= to_liquidator;
  collateral_pool.reserves += to_protocol;

  result.debt_repaid = repaid;
  result.collateral_seized = to_liquidator;
  result.collateral_to_protocol = to_protocol;
  const Valuation after = value(state, indices, prices);
  if (after.debt > 0.0 && !(after.seizable_collateral > dust_ratio * after.debt)) {
    result.bad_debt_written_off = write_off(position, prices);
  }
  reindex(position);
  return result;
}

// ------------------------------------------------------------ maker auctions ----

LiquidationResult Lending::bark(PositionId position, std::span<const double> prices, double now_seconds) {
  LiquidationResult result;
  if (!prices_usable(prices)) {
    result.revert_reason = RevertReason::invalid_amount;
    return result;
  }
  PositionState& state = positions_[position];
  const SlotIndices indices = all_indices(now_seconds);
  const Valuation before = value(state, indices, prices);
  if (!(before.health_factor() < 1.0)) {
    result.revert_reason = RevertReason::healthy;
    return result;
  }
  if (!(before.seizable_collateral > dust_ratio * before.debt)) {
    accrue_all(now_seconds);
    result.bad_debt_written_off = write_off(position, prices);
    reindex(position);
    return result;
  }
  std::size_t collaterals = 0;
  std::size_t debts = 0;
  std::size_t collateral_slot = 0;
  std::size_t debt_slot = 0;
  for (std::size_t slot = 0; slot < asset_count_; ++slot) {
    if (state.scaled_supply[slot] > 0.0) {
      ++collaterals;
      collateral_slot = slot;
    }
    if (state.scaled_debt[slot] > 0.0) {
      ++debts;
      debt_slot = slot;
    }
  }
  // borrow() keeps vaults to one collateral and one debt asset; only the
  // genesis position could hold several, and it cannot borrow then.
  if (collaterals != 1 || debts != 1) {
    result.revert_reason = RevertReason::unsupported;
    return result;
  }
  if (auctions_.size() >= params_.max_auctions) {
    result.revert_reason = RevertReason::cap_exceeded;  // as dog.sol's Hole: no room for another auction
    return result;
  }
  const double lot = state.scaled_supply[collateral_slot] * indices[collateral_slot].supply;
  const double owed = state.scaled_debt[debt_slot] * indices[debt_slot].borrow;
  if (pools_[collateral_slot].cash < lot) {
    result.revert_reason = RevertReason::insufficient_liquidity;  // the collateral is lent out
    return result;
  }

  accrue_all(now_seconds);
  const LendingAssetParams& collateral_params = params_.assets[collateral_slot];
  Pool& collateral_pool = pools_[collateral_slot];
  collateral_pool.scaled_supply = std::max(0.0, collateral_pool.scaled_supply - state.scaled_supply[collateral_slot]);
  collateral_pool.cash -= lot;
  collateral_pool.auction_collateral += lot;
  state.scaled_supply[collateral_slot] = 0.0;
  Pool& debt_pool = pools_[debt_slot];
  debt_pool.scaled_debt = std::max(0.0, debt_pool.scaled_debt - state.scaled_debt[debt_slot]);
  debt_pool.auction_debt += owed;
  state.scaled_debt[debt_slot] = 0.0;

  const auto id = static_cast<AuctionId>(auctions_.size());
  Auction auction;
  auction.position = position;
  auction.collateral_asset = collateral_params.asset;
  auction.debt_asset = params_.assets[debt_slot].asset;
  auction.lot = lot;
  auction.tab = owed * (1.0 + collateral_params.liquidation_bonus);  // dog.bark: tab = due x chop
  auction.debt_owed = owed;
  // clip.kick: top = oracle price x buf, in debt tokens per collateral token.
  auction.top = prices[collateral_params.asset] / prices[auction.debt_asset] * params_.auction.buf;
  auction.started_seconds = now_seconds;
  auction.active = true;
  auctions_.push_back(auction);
  AuctionBook book;
  book.initial_tab = auction.tab;
  book.initial_lot = lot;
  book.active_slot = static_cast<std::uint32_t>(active_auctions_.size());
  book.collateral_slot = static_cast<std::uint8_t>(collateral_slot);
  book.debt_slot = static_cast<std::uint8_t>(debt_slot);
  auction_books_.push_back(book);
  active_auctions_.push_back(id);
  ++state.active_auctions;
  state.auction_collateral_slot = static_cast<std::uint8_t>(collateral_slot);
  reindex(position);
  result.auction = id;
  return result;
}

std::size_t Lending::auction_count() const { return auctions_.size(); }

const Auction& Lending::auction(AuctionId id) const {
  static const Auction none{};
  return id < auctions_.size() ? auctions_[id] : none;
}

std::size_t Lending::active_auctions() const { return active_auctions_.size(); }

double Lending::auction_price(AuctionId id, double now_seconds) const {
  if (id >= auctions_.size() || !auctions_[id].active) return 0.0;
  const Auction& auction = auctions_[id];
  return auction_curve_price(params_.auction, auction.top, now_seconds - auction.started_seconds);
}

bool Lending::auction_needs_reset(AuctionId id, double now_seconds) const {
  if (id >= auctions_.size() || !auctions_[id].active) return false;
  const Auction& auction = auctions_[id];
  return auction_curve_stale(params_.auction, auction.top, now_seconds - auction.started_seconds);
}

double Lending::close_auction(AuctionId id, std::span<const double> prices, bool return_lot_to_vault) {
  // Pools are accrued to now by the caller.
  Auction& auction = auctions_[id];
  const AuctionBook& book = auction_books_[id];
  Pool& collateral_pool = pools_[book.collateral_slot];
  Pool& debt_pool = pools_[book.debt_slot];
  PositionState& vault = positions_[auction.position];
  if (auction.lot > 0.0) {
    collateral_pool.auction_collateral = std::max(0.0, collateral_pool.auction_collateral - auction.lot);
    if (return_lot_to_vault && collateral_pool.supply_index > 0.0) {
      // clip.take: what is left when the tab is covered goes back to the vault.
      const double scaled = auction.lot / collateral_pool.supply_index;
      vault.scaled_supply[book.collateral_slot] += scaled;
      collateral_pool.scaled_supply += scaled;
      collateral_pool.cash += auction.lot;
    } else {
      collateral_pool.protocol_collateral += auction.lot;
    }
    auction.lot = 0.0;
  }
  double written_off_value = 0.0;
  if (auction.debt_owed > 0.0) {
    debt_pool.auction_debt = std::max(0.0, debt_pool.auction_debt - auction.debt_owed);
    absorb_bad_debt(book.debt_slot, auction.debt_owed);
    written_off_value = auction.debt_owed * prices[auction.debt_asset];
    auction.debt_owed = 0.0;
  }
  auction.active = false;
  const AuctionId last = active_auctions_.back();
  active_auctions_[book.active_slot] = last;
  auction_books_[last].active_slot = book.active_slot;
  active_auctions_.pop_back();
  --vault.active_auctions;
  reindex(auction.position);
  return written_off_value;
}

double Lending::reset_stale_auctions(std::span<const double> prices, double now_seconds) {
  if (active_auctions_.empty() || !prices_cover(prices, params_.assets)) return 0.0;
  double written_off_value = 0.0;
  bool accrued = false;
  std::size_t next = 0;
  while (next < active_auctions_.size()) {
    const AuctionId id = active_auctions_[next];
    Auction& auction = auctions_[id];
    if (!auction_curve_stale(params_.auction, auction.top, now_seconds - auction.started_seconds)) {
      ++next;
      continue;
    }
    if (params_.auction.reset) {
      // clip.redo: a new round from the current oracle price.
      const double collateral_price = prices[auction.collateral_asset];
      const double debt_price = prices[auction.debt_asset];
      if (positive_finite(collateral_price) && positive_finite(debt_price)) {
        auction.top = collateral_price / debt_price * params_.auction.buf;
        auction.started_seconds = now_seconds;
        ++auction.resets;
      }
      ++next;
    } else {
      if (!accrued) {
        accrue_all(now_seconds);
        accrued = true;
      }
      written_off_value += close_auction(id, prices, false);  // moves the last active one to `next`
    }
  }
  return written_off_value;
}

TakeResult Lending::take(AuctionId id, double max_collateral, double max_price, std::span<const double> prices,
                         double now_seconds) {
  TakeResult result;
  if (id >= auctions_.size() || !auctions_[id].active) {
    result.revert_reason = RevertReason::auction_inactive;
    return result;
  }
  if (!(max_collateral > 0.0) || std::isnan(max_price) || !prices_usable(prices)) {
    result.revert_reason = RevertReason::invalid_amount;
    return result;
  }
  Auction& auction = auctions_[id];
  const AuctionBook& book = auction_books_[id];
  const double elapsed_seconds = now_seconds - auction.started_seconds;
  if (auction_curve_stale(params_.auction, auction.top, elapsed_seconds)) {
    result.revert_reason = RevertReason::unsupported;  // clip.take: "Clipper/needs-reset"
    return result;
  }
  const double price = auction_curve_price(params_.auction, auction.top, elapsed_seconds);
  result.price = price;
  if (price > max_price) {
    result.revert_reason = RevertReason::slippage;  // "Clipper/too-expensive"
    return result;
  }
  // clip.take: slice = min(lot, amt); owe = slice x price; never more than the tab.
  double slice = std::min(auction.lot, max_collateral);
  double owe = slice * price;
  if (owe > auction.tab) {
    owe = auction.tab;
    slice = std::min(auction.lot, owe / price);
  }

  accrue_all(now_seconds);
  Pool& debt_pool = pools_[book.debt_slot];
  Pool& collateral_pool = pools_[book.collateral_slot];
  debt_pool.cash += owe;
  // The debt is raised first; what exceeds it is the penalty, to reserves.
  const double repaid = std::min(owe, auction.debt_owed);
  auction.debt_owed -= repaid;
  debt_pool.auction_debt = std::max(0.0, debt_pool.auction_debt - repaid);
  debt_pool.reserves += owe - repaid;
  auction.tab -= owe;
  auction.lot -= slice;
  collateral_pool.auction_collateral = std::max(0.0, collateral_pool.auction_collateral - slice);
  result.collateral_bought = slice;
  result.debt_paid = owe;
  if (auction.tab <= auction_dust_ratio * book.initial_tab || auction.lot <= auction_dust_ratio * book.initial_lot) {
    // Tab covered: the rest of the lot returns to the vault. Lot sold out
    // with a tab left: the debt not raised is bad debt.
    result.auction_closed = true;
    result.bad_debt_written_off = close_auction(id, prices, true);
  }
  return result;
}

}  // namespace defisim::markets
