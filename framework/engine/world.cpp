#include "framework/engine/world.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "framework/core/deterministic_math.hpp"
#include "framework/core/errors.hpp"

namespace defisim::engine {

namespace {

// Blocks of price shocks generated at once: long enough to vectorise the
// normal transform and exp, short enough to stay in L1.
constexpr std::size_t price_chunk_blocks = 256;

// Orderings under which a searcher's front-run, an ordinary transaction for
// the builder, can land ahead of its target: a gas auction, a shuffle.
// (Under fifo searchers act last, so it lands behind; mev places bundles.)
bool front_runs_land_ahead(Ordering ordering) {
  return ordering == Ordering::priority_fee || ordering == Ordering::random;
}

// Block 0 takes every agent's start() transactions (a borrower population
// opens its positions there); later blocks take max_transactions_per_block.
std::uint32_t block_capacity(const ScenarioSpec& spec) {
  std::uint64_t start_transactions = 0;
  for (const AgentSpec& agent : spec.agents) start_transactions += agent.params->start_transactions();
  return static_cast<std::uint32_t>(
      std::max<std::uint64_t>(spec.max_transactions_per_block,
                              std::min<std::uint64_t>(start_transactions + spec.max_transactions_per_block, 0xFFFFFFF0u)));
}

std::uint64_t price_stream_path(const ScenarioSpec& spec, std::uint64_t path) {
  // Antithetic pairs (2i, 2i+1) share the draws of key i.
  return spec.antithetic ? path / 2 : path;
}

}  // namespace

World::World(const ScenarioPlan& plan, std::uint64_t path)
    : plan_(plan),
      spec_(*plan.spec),
      path_(path),
      price_random_(spec_.seed, price_stream_path(spec_, path), core::streams::price),
      negate_shocks_(spec_.antithetic && path % 2 == 1),
      shocks_per_block_(core::shock_counts(plan.stepper)),
      normals_(price_chunk_blocks * shocks_per_block_.normals),
      uniforms_(price_chunk_blocks * shocks_per_block_.uniforms),
      log_price_chunk_(price_chunk_blocks * spec_.risky_assets.size()),
      reference_prices_(spec_.initial_prices_by_asset()),
      oracle_prices_(spec_.assets.size(), 1.0),
      oracle_random_(spec_.seed, path, core::streams::oracle),
      ledger_(spec_.agents.size() + 2, spec_.assets.size(), spec_.markets.size()),
      mempool_(block_capacity(spec_)),
      builder_(spec_.ordering, block_capacity(spec_), spec_.seed, path),
      // Only `mev` executes bundles; other orderings keep an empty undo buffer.
      ledger_before_bundle_(spec_.ordering == Ordering::mev ? ledger_ : Ledger(0, 0, 0)),
      builder_account_(static_cast<core::AgentIndex>(spec_.agents.size())),
      genesis_account_(static_cast<core::AgentIndex>(spec_.agents.size() + 1)),
      idle_agents_(spec_.agents.size()),
      awake_agents_(spec_.agents.size()),
      risky_index_(spec_.assets.size(), -1),
      market_versions_(spec_.markets.size(), 0),
      market_totals_(spec_.markets.size()),
      perp_totals_(spec_.markets.size()) {
  receipts_.reserve(block_capacity(spec_));  // reserved, not built: most paths need few
  if (front_runs_land_ahead(spec_.ordering)) front_runs_.reserve(spec_.max_transactions_per_block);
  price_state_.log_price = spec_.initial_prices.array().log();
  for (std::size_t i = 0; i < spec_.risky_assets.size(); ++i) risky_index_[spec_.risky_assets[i]] = static_cast<int>(i);
  // Markets start with their configured reserves, drawn from the venue and
  // owned by the genesis account.
  markets_.reserve(spec_.markets.size());
  for (std::size_t m = 0; m < spec_.markets.size(); ++m) {
    if (const auto* lending = std::get_if<markets::LendingParams>(&spec_.markets[m])) {
      // The genesis supplier's deposits, drawn from the venue like pool reserves.
      for (const markets::LendingAssetParams& asset : lending->assets) ledger_.venue(asset.asset) -= asset.initial_supply;
      markets_.emplace_back(markets::Lending(*lending, genesis_account_));
      lending_markets_.push_back(static_cast<core::MarketIndex>(m));
      position_scratch_.resize(std::max<std::size_t>(position_scratch_.size(), lending->max_positions));
      continue;
    }
    if (markets::is_perp(spec_.markets[m])) {
      build_perp_market(m);
      continue;
    }
    const markets::CpmmParams& params = *markets::constant_product_params(spec_.markets[m]);
    ledger_.venue(params.asset_x) -= params.reserve_x;
    ledger_.venue(params.asset_y) -= params.reserve_y;
    if (const auto* twamm = std::get_if<markets::TwammParams>(&spec_.markets[m])) {
      markets_.emplace_back(markets::Twamm(*twamm));
      twamm_markets_.push_back(static_cast<core::MarketIndex>(m));
    } else {
      markets_.emplace_back(markets::Cpmm(params));
    }
    ledger_.shares(genesis_account_, static_cast<core::MarketIndex>(m)) =
        markets::constant_product_pool(markets_.back()).total_shares();
  }
  agents_.reserve(spec_.agents.size());
  for (std::size_t a = 0; a < spec_.agents.size(); ++a) {
    const auto index = static_cast<core::AgentIndex>(a);
    const std::vector<double> wallet = spec_.agents[a].params->initial_wallet(spec_.assets.size());
    for (std::size_t asset = 0; asset < wallet.size(); ++asset) {
      if (wallet[asset] != 0.0) ledger_.draw_from_venue(index, static_cast<core::AssetIndex>(asset), wallet[asset]);
    }
    agents_.push_back(spec_.agents[a].params->create({index, spec_.seed, path}));
  }
  for (int watchers = 0; watchers < 2; ++watchers) {
    for (std::size_t a = 0; a < spec_.agents.size(); ++a) {
      if (spec_.agents[a].params->watches_mempool() == (watchers == 1)) act_order_.push_back(a);
    }
  }
  settlement_.native_asset = spec_.native_asset;
  settlement_.numeraire = spec_.numeraire;
  settlement_.builder_account = builder_account_;
  settlement_.protocol_account = genesis_account_;
  settlement_.base_gas_price_gwei = spec_.gas_price_gwei;
  settlement_.reference_prices = reference_prices_;
  // Oracles start at the initial prices (block 0 publishes them).
  std::copy(reference_prices_.begin(), reference_prices_.end(), oracle_prices_.begin());
  std::size_t oracle_normals = 0;
  for (std::size_t asset = 0; asset < spec_.oracles.size(); ++asset) {
    if (std::holds_alternative<core::ReferenceOracleParams>(spec_.oracles[asset])) continue;
    oracles_.emplace_back(spec_.oracles[asset], reference_prices_[asset], 0.0);
    oracle_assets_.push_back(static_cast<core::AssetIndex>(asset));
    oracle_normals += oracles_.back().normals_per_block();
  }
  oracle_normals_.resize(oracle_normals);
  protocol_prices_ = oracles_.empty() ? std::span<const double>(reference_prices_) : std::span<const double>(oracle_prices_);
  settlement_.oracle_prices = protocol_prices_;
  idle_allowed_ = spec_.skip_idle_agents && !plan_.gas_stepper.has_value();
  if (plan_.gas_stepper) {
    const int component = risky_index_[spec_.gas_process_asset];
    gas_state_ = core::initial_gas_price_state(price_state_.log_price(component));
    peak_gas_price_gwei_ = spec_.gas_price_gwei;
  }

  view_.block_time_seconds = spec_.block_time_seconds;
  view_.reference_prices = reference_prices_;
  view_.oracle_prices = protocol_prices_;
  view_.markets = markets_;
  view_.wallets = {ledger_.balances(), spec_.assets.size()};
  view_.lp_shares = ledger_.all_shares();
  view_.market_count = spec_.markets.size();
  view_.base_gas_price_gwei = spec_.gas_price_gwei;
  view_.native_asset = spec_.native_asset;
  view_.numeraire = spec_.numeraire;
  view_.ordering = spec_.ordering;
}

std::span<const core::Transaction> World::public_mempool() const {
  // Under `private` ordering every transaction goes through a private channel.
  if (spec_.ordering == core::Ordering::private_) return {};
  return mempool_.public_pending();
}

agents::View& World::view() {
  view_.block = block_;
  view_.time_seconds = static_cast<double>(block_) * spec_.block_time_seconds;
  view_.mempool = public_mempool();
  return view_;
}

void World::refill_price_chunk() {
  // Never step past the last block: a replay has exactly the data it needs.
  // The shock streams are sequential, so chunk sizes never change the path.
  const std::size_t blocks = static_cast<std::size_t>(
      std::min<std::uint64_t>(price_chunk_blocks, spec_.blocks - price_state_.step));
  if (blocks == 0) {
    throw core::InvariantViolation(fmt::format("World::step past the last block ({})", spec_.blocks));
  }
  const std::size_t normal_count = blocks * shocks_per_block_.normals;
  const std::size_t uniform_count = blocks * shocks_per_block_.uniforms;
  if (normal_count > 0) {
    price_random_.fill_normal(normals_.data(), normal_count);
    if (negate_shocks_) {
      for (std::size_t i = 0; i < normal_count; ++i) normals_[i] = -normals_[i];
    }
    if (!plan_.tilt_per_normal.empty()) {
      // Each normal is drawn from N(theta, 1) instead of N(0, 1): z = e + theta.
      // dP/dQ of one is exp(-theta z + theta^2 / 2); the path's is the product.
      const std::size_t per_block = shocks_per_block_.normals;
      for (std::size_t i = 0; i < normal_count; ++i) {
        const double theta = plan_.tilt_per_normal[i % per_block];
        normals_[i] += theta;
        log_likelihood_ratio_ += theta * (0.5 * theta - normals_[i]);
      }
    }
  }
  if (uniform_count > 0) {
    price_random_.fill_uniform(uniforms_.data(), uniform_count);
    if (negate_shocks_) {
      for (std::size_t i = 0; i < uniform_count; ++i) uniforms_[i] = 1.0 - uniforms_[i];
    }
  }
  const std::size_t n = spec_.risky_assets.size();
  const std::size_t normals_per_block = shocks_per_block_.normals;
  const std::size_t uniforms_per_block = shocks_per_block_.uniforms;
  if (const auto* gbm = std::get_if<core::GbmStepper>(&plan_.stepper); gbm && n == 1) {
    // One asset: the log price is a running sum of drift + vol * z, exactly
    // GbmStepper::evolve's arithmetic; exp runs vectorised below.
    const double drift = gbm->drift_step(0);
    const double volatility = gbm->volatility_step(0);
    double log_price = price_state_.log_price(0);
    for (std::size_t b = 0; b < blocks; ++b) {
      log_price += drift + volatility * normals_[b];
      log_price_chunk_[b] = log_price;
    }
    price_state_.log_price(0) = log_price;
    price_state_.step += blocks;
  } else {
    for (std::size_t b = 0; b < blocks; ++b) {
      core::evolve(plan_.stepper, price_state_,
                   std::span<const double>(normals_.data() + b * normals_per_block, normals_per_block),
                   std::span<const double>(uniforms_.data() + b * uniforms_per_block, uniforms_per_block));
      for (std::size_t i = 0; i < n; ++i) log_price_chunk_[b * n + i] = price_state_.log_price(static_cast<Eigen::Index>(i));
    }
  }
  chunk_position_ = 0;
  chunk_blocks_ = blocks;
}

void World::advance_prices() {
  if (chunk_position_ == chunk_blocks_) refill_price_chunk();
  publish_prices(chunk_position_);
  ++chunk_position_;
}

void World::publish_prices(std::size_t chunk_block) {
  // exp only for blocks someone looks at: quiet blocks are scanned in log space.
  const std::size_t n = spec_.risky_assets.size();
  const double* log_prices = &log_price_chunk_[chunk_block * n];
  for (std::size_t i = 0; i < n; ++i) reference_prices_[spec_.risky_assets[i]] = core::exp_det(log_prices[i]);
}

void World::execute_block() {
  settlement_.block = block_;
  settlement_.time_seconds = static_cast<double>(block_) * spec_.block_time_seconds;
  front_runs_.clear();
  const std::span<const core::Transaction> pending = mempool_.pending();
  builder_.plan(pending);
  receipts_.clear();
  for (const BlockSlot& slot : builder_.slots()) {
    if (!slot.has_bundle() || !execute_bundle(pending, slot)) execute_alone(pending[slot.transaction]);
  }
  for (const Exclusion& exclusion : builder_.excluded()) exclude(pending[exclusion.transaction], exclusion.reason);
  const agents::View& current = view();
  for (const core::Receipt& receipt : receipts_) {
    agents_[receipt.transaction.sender]->on_receipt(receipt, current);
  }
  for (const core::Transaction& transaction : mempool_.dropped()) {
    dropped_ += 1.0;
    core::Receipt receipt;
    receipt.transaction = transaction;
    receipt.block = block_;
    receipt.revert_reason = core::RevertReason::mempool_full;
    agents_[transaction.sender]->on_receipt(receipt, current);
  }
  mempool_.clear();
}

core::Transaction World::resolve_back_run(const core::Transaction& transaction) const {
  core::Transaction resolved = transaction;
  if (!transaction.sell_front_run_output) return resolved;
  resolved.amount_in = 0.0;  // no front-run executed: reverts as invalid_amount
  for (auto it = receipts_.rbegin(); it != receipts_.rend(); ++it) {
    const core::Transaction& earlier = it->transaction;
    if (earlier.sender == transaction.sender && earlier.bundle_role == core::BundleRole::front_run &&
        earlier.bundle_target == transaction.bundle_target && earlier.market == transaction.market) {
      if (it->included && it->succeeded()) resolved.amount_in = it->amount_out;
      break;
    }
  }
  return resolved;
}

core::Receipt& World::execute_next(const core::Transaction& transaction) {
  const auto position = static_cast<std::uint32_t>(receipts_.size());
  core::Receipt& receipt = receipts_.emplace_back(execute(resolve_back_run(transaction), markets_, ledger_, settlement_));
  receipt.transaction = transaction;
  receipt.block = block_;
  receipt.position = position;
  return receipt;
}

void World::record_victim(core::Receipt& receipt, double amount_out_unattacked) {
  receipt.sandwiched = true;
  receipt.amount_out_unattacked = amount_out_unattacked;
  victim_loss_ += (amount_out_unattacked - receipt.amount_out) * reference_prices_[receipt.token_out];
}

void World::execute_alone(const core::Transaction& transaction) {
  // Outside `mev`, a searcher's front-run is an ordinary transaction that may
  // land ahead of its target (a gas auction, a lucky shuffle): remember the
  // pool it found, to measure what its target lost to it.
  const bool tracks_front_runs = front_runs_land_ahead(spec_.ordering);
  const bool is_front_run = tracks_front_runs && transaction.bundle_role == core::BundleRole::front_run &&
                            transaction.kind == core::TransactionKind::swap && transaction.market < markets_.size() &&
                            markets::constant_product_pool_if(markets_[transaction.market]) != nullptr;
  if (is_front_run && front_runs_.size() < front_runs_.capacity()) {
    front_runs_.push_back({transaction.bundle_target, transaction.market,
                           markets::constant_product_pool(markets_[transaction.market]), false});
  }
  const FrontRun* front_run = nullptr;
  if (tracks_front_runs && transaction.bundle_role == core::BundleRole::none &&
      transaction.kind == core::TransactionKind::swap) {
    for (const FrontRun& candidate : front_runs_) {
      if (candidate.executed && candidate.target == transaction.sequence && candidate.market == transaction.market) {
        front_run = &candidate;
      }
    }
  }
  core::Receipt& receipt = execute_next(transaction);
  if (is_front_run && !front_runs_.empty() && receipt.succeeded()) front_runs_.back().executed = true;
  if (front_run != nullptr && receipt.succeeded() && front_run->pool_before.trades(transaction.token_in)) {
    // The counterfactual is the pool before the front-run: exact when nothing
    // else executed between the two.
    record_victim(receipt, front_run->pool_before.amount_out(transaction.token_in == front_run->pool_before.asset_x(),
                                                             transaction.amount_in));
  }
  account(receipt);
}

bool World::execute_bundle(std::span<const core::Transaction> pending, const BlockSlot& slot) {
  const core::Transaction& target = pending[slot.transaction];
  const core::Transaction* front = slot.front_run != BlockSlot::none ? &pending[slot.front_run] : nullptr;
  const core::Transaction* back = slot.back_run != BlockSlot::none ? &pending[slot.back_run] : nullptr;
  auto exclude_bundle = [&] {
    if (front != nullptr) exclude(*front, core::RevertReason::bundle_failed);
    if (back != nullptr) exclude(*back, core::RevertReason::bundle_failed);
    return false;
  };
  // A bundle's own transactions are swaps on its target's constant-product
  // pool, and a back-run needs a swap target: so the pool is the only market
  // state a failed bundle must restore (a target that is not a swap, such as
  // a long-term order placement, runs last and changes nothing if it reverts).
  const core::MarketIndex market = target.market;
  auto is_pool_swap = [&](const core::Transaction* transaction) {
    return transaction == nullptr ||
           (transaction->kind == core::TransactionKind::swap && transaction->market == market);
  };
  const bool target_is_swap = target.kind == core::TransactionKind::swap;
  if (market >= markets_.size() || markets::constant_product_pool_if(markets_[market]) == nullptr ||
      !is_pool_swap(front) || !is_pool_swap(back) || (back != nullptr && !target_is_swap)) {
    return exclude_bundle();
  }
  markets::Cpmm& pool = markets::constant_product_pool(markets_[market]);
  const bool target_trades_pool = target_is_swap && pool.trades(target.token_in);
  const double amount_out_unattacked =
      target_trades_pool ? pool.amount_out(target.token_in == pool.asset_x(), target.amount_in) : 0.0;
  ledger_before_bundle_ = ledger_;  // same shape: copies without allocating
  const markets::Cpmm pool_before_bundle = pool;
  const std::size_t first = receipts_.size();
  auto run = [&](const core::Transaction& transaction) {
    const core::Receipt& receipt = execute_next(transaction);
    return receipt.included && receipt.succeeded();
  };
  bool executed = (front == nullptr || run(*front)) && run(target) && (back == nullptr || run(*back));
  if (executed) {
    core::Receipt& carrier = receipts_[front != nullptr ? first : receipts_.size() - 1];
    executed = pay_bribe(carrier.transaction.bribe_native, ledger_, settlement_, carrier);
  }
  if (!executed) {
    ledger_ = ledger_before_bundle_;
    pool = pool_before_bundle;
    receipts_.resize(first);
    return exclude_bundle();
  }
  core::Receipt& target_receipt = receipts_[first + (front != nullptr ? 1 : 0)];
  if (front != nullptr && target_trades_pool) record_victim(target_receipt, amount_out_unattacked);
  bundles_ += 1.0;
  for (std::size_t i = first; i < receipts_.size(); ++i) {
    account(receipts_[i]);
    bribes_ += receipts_[i].bribe_paid_native * reference_prices_[spec_.native_asset];
  }
  return true;
}

void World::exclude(const core::Transaction& transaction, core::RevertReason reason) {
  core::Receipt& receipt = receipts_.emplace_back();
  receipt.transaction = transaction;
  receipt.block = block_;
  receipt.revert_reason = reason;
}

void World::account(const core::Receipt& receipt) {
  if (!receipt.included) return;
  transactions_ += 1.0;
  gas_paid_ += receipt.gas_paid_native * reference_prices_[spec_.native_asset];
  if (!receipt.succeeded()) {
    reverts_ += 1.0;
    return;
  }
  ++market_versions_[receipt.transaction.market];
  if (markets::is_perp(markets_[receipt.transaction.market])) account_perp(receipt);
  if (receipt.transaction.kind == core::TransactionKind::place_long_term_order) {
    market_totals_[receipt.transaction.market].orders_placed += 1.0;
  }
  if (receipt.transaction.kind == core::TransactionKind::liquidate ||
      receipt.transaction.kind == core::TransactionKind::take_auction) {
    MarketTotals& totals = market_totals_[receipt.transaction.market];
    const bool auction_started = receipt.transaction.kind == core::TransactionKind::liquidate &&
                                 std::get<markets::Lending>(markets_[receipt.transaction.market]).rules() ==
                                     markets::LendingRules::maker;
    if (auction_started) {
      totals.auctions_started += 1.0;
    } else {
      // A liquidation repays debt for collateral; so does a take from an auction.
      totals.liquidations += receipt.transaction.kind == core::TransactionKind::liquidate ? 1.0 : 0.0;
      totals.auction_takes += receipt.transaction.kind == core::TransactionKind::take_auction ? 1.0 : 0.0;
      totals.liquidation_volume += receipt.amount_in * reference_prices_[receipt.transaction.token_in];
      totals.collateral_seized_value += receipt.amount_out * reference_prices_[receipt.token_out];
    }
    totals.bad_debt += receipt.bad_debt_written_off;
    if (receipt.transaction.sale == core::CollateralSale::market && receipt.collateral_sold > 0.0) {
      // The collateral's sale is a swap on that pool: it changed, and its
      // swap totals count it.
      const core::MarketIndex pool_market = receipt.transaction.sale_market;
      ++market_versions_[pool_market];
      MarketTotals& pool_totals = market_totals_[pool_market];
      const double price_in = reference_prices_[receipt.token_out];
      pool_totals.swaps += 1.0;
      pool_totals.volume += receipt.collateral_sold * price_in;
      pool_totals.fees += receipt.collateral_sold * markets::constant_product_pool(markets_[pool_market]).fee() * price_in;
    }
  }
  if (receipt.transaction.kind == core::TransactionKind::swap) {
    MarketTotals& totals = market_totals_[receipt.transaction.market];
    const double price_in = reference_prices_[receipt.transaction.token_in];
    totals.swaps += 1.0;
    totals.volume += receipt.amount_in * price_in;
    totals.fees += receipt.fee_paid * price_in;
  }
}

void World::start() {
  block_ = 0;
  update_oracles();
  update_gas_price();
  agents::View& current = view();
  for (const std::size_t a : act_order_) {
    agents_[a]->start(current, mempool_);
    current.mempool = public_mempool();
  }
  execute_block();
  mempool_.set_limit(spec_.max_transactions_per_block);
  track_perp_markets();
}

bool World::should_wake(const IdleAgent& agent) const {
  const agents::WakeConditions& wake = agent.wake;
  if (block_ >= wake.wake_block) return true;
  for (std::uint32_t i = 0; i < wake.price_band_count; ++i) {
    const agents::PriceBand& band = wake.price_bands[i];
    const double price = reference_prices_[band.asset];
    if (!(price > band.low && price < band.high)) return true;  // NaN wakes too
  }
  for (std::uint32_t i = 0; i < wake.watched_market_count; ++i) {
    if (market_versions_[wake.watched_markets[i]] != agent.market_versions[i]) return true;
  }
  return wake.wake_on_mempool && !public_mempool().empty();
}

// The inner log band: inside it exp_det(log price) is certainly inside the
// band (the margin is far above the <= 1 ulp errors of exp_det and log_det),
// so quiet blocks are scanned without exp; a log price between the two
// bands is checked exactly.
constexpr double log_band_margin = 1e-10;

void World::fall_asleep(IdleAgent& agent) {
  --awake_agents_;
  const agents::WakeConditions& wake = agent.wake;
  for (std::uint32_t i = 0; i < wake.watched_market_count; ++i) {
    agent.market_versions[i] = market_versions_[wake.watched_markets[i]];
  }
  for (std::uint32_t i = 0; i < wake.price_band_count; ++i) {
    const agents::PriceBand& band = wake.price_bands[i];
    agent.log_low[i] = band.low > 0.0 ? core::log_det(band.low) + log_band_margin : -INFINITY;
    agent.log_high[i] = band.high < INFINITY ? core::log_det(band.high) - log_band_margin : INFINITY;
  }
}

// Phase 3, lazy accrual: each twamm executes its virtual orders up to this
// block, as the contract does when first touched in a block. Every block,
// not only when a transaction touches it, because agents read its pool's
// state; with no order active it costs a check. A pool moved by virtual
// trades counts as changed for idle agents watching it.
// Phase 2. Block 0's oracles are their initial state; assets without an
// oracle are read at the reference (protocol_prices_ points to it).
void World::update_oracles() {
  if (oracles_.empty() || block_ == 0) return;
  if (!oracle_normals_.empty()) oracle_random_.fill_normal(oracle_normals_.data(), oracle_normals_.size());
  std::size_t next_normal = 0;
  core::OracleInputs inputs;
  inputs.block = block_;
  inputs.time_seconds = static_cast<double>(block_) * spec_.block_time_seconds;
  for (std::size_t k = 0; k < oracles_.size(); ++k) {
    const core::AssetIndex asset = oracle_assets_[k];
    inputs.reference_price = reference_prices_[asset];
    const core::MarketIndex pool_market = spec_.oracle_pools[asset];
    if (pool_market != core::no_market) {
      // The pool's price of `asset` in numeraire, before this block's
      // transactions: its quote in the other token, times that token's price.
      const markets::Cpmm& pool = markets::constant_product_pool(markets_[pool_market]);
      inputs.pool_price = pool.asset_x() == asset ? pool.spot_price() * reference_prices_[pool.asset_y()]
                                                  : reference_prices_[pool.asset_x()] / pool.spot_price();
    }
    const std::size_t normals = oracles_[k].normals_per_block();
    inputs.normals = std::span<const double>(oracle_normals_.data() + next_normal, normals);
    next_normal += normals;
    oracle_prices_[asset] = oracles_[k].update(inputs);
  }
}

void World::update_gas_price() {
  if (!plan_.gas_stepper || block_ == 0) return;
  const int component = risky_index_[spec_.gas_process_asset];
  const double log_price = log_price_chunk_[(chunk_position_ - 1) * spec_.risky_assets.size() + static_cast<std::size_t>(component)];
  const double gas_price = plan_.gas_stepper->next(gas_state_, log_price);
  peak_gas_price_gwei_ = std::max(peak_gas_price_gwei_, gas_price);
  view_.base_gas_price_gwei = gas_price;
  settlement_.base_gas_price_gwei = gas_price;
}

void World::accrue_markets() {
  const double now = static_cast<double>(block_) * spec_.block_time_seconds;
  settle_perp_funding();
  for (const core::MarketIndex m : lending_markets_) {
    auto& lending = std::get<markets::Lending>(markets_[m]);
    if (lending.active_auctions() == 0) continue;
    // Keepers reset stale auctions (clip.redo); with reset off, they close.
    const std::size_t running = lending.active_auctions();
    market_totals_[m].bad_debt += lending.reset_stale_auctions(protocol_prices_, now);
    market_totals_[m].auctions_closed_stale += static_cast<double>(running - lending.active_auctions());
    ++market_versions_[m];
  }
  for (const core::MarketIndex m : twamm_markets_) {
    auto& twamm = std::get<markets::Twamm>(markets_[m]);
    if (!twamm.has_active_orders()) continue;
    const markets::Cpmm& pool = twamm.pool();
    const double unsold_x_before = twamm.pooled_unsold(pool.asset_x());
    const double unsold_y_before = twamm.pooled_unsold(pool.asset_y());
    const std::uint64_t segments_before = twamm.segments_evaluated();
    twamm.execute_virtual_orders(block_);
    if (twamm.segments_evaluated() == segments_before) continue;
    ++market_versions_[m];
    // Nothing else moves the pooled input during accrual: what left it was sold.
    market_totals_[m].virtual_volume +=
        (unsold_x_before - twamm.pooled_unsold(pool.asset_x())) * reference_prices_[pool.asset_x()] +
        (unsold_y_before - twamm.pooled_unsold(pool.asset_y())) * reference_prices_[pool.asset_y()];
  }
}

bool World::markets_move_between_blocks() const {
  // A vamm settles funding at its times, and every perpetual pool's
  // drawdown is tracked block by block: no block may be skipped.
  if (!perp_markets_.empty()) return true;
  for (const core::MarketIndex m : twamm_markets_) {
    if (markets::moves_between_blocks(markets_[m])) return true;
  }
  for (const core::MarketIndex m : lending_markets_) {
    if (std::get<markets::Lending>(markets_[m]).active_auctions() > 0) return true;
  }
  return false;
}

void World::step() {
  ++block_;
  advance_prices();
  update_oracles();
  update_gas_price();
  accrue_markets();
  agents::View& current = view();
  for (const std::size_t a : act_order_) {
    IdleAgent& idle = idle_agents_[a];
    if (idle.idle) {
      if (!should_wake(idle)) {
        ++idle_statistics_.skipped_act_calls;
        continue;
      }
      idle.idle = false;
      ++awake_agents_;
    }
    const std::size_t submitted_before = mempool_.pending().size() + mempool_.dropped().size();
    agents_[a]->act(current, mempool_);
    if (mempool_.pending().size() + mempool_.dropped().size() != submitted_before) {
      current.mempool = public_mempool();  // later agents see earlier submissions
    } else if (idle_allowed_) {
      idle.wake = agents::WakeConditions{};
      idle.idle = agents_[a]->idle_until(current, idle.wake);
      if (idle.idle) fall_asleep(idle);
    }
  }
  // Most blocks of most workloads are empty: skip the builder entirely.
  if (!mempool_.pending().empty() || !mempool_.dropped().empty()) execute_block();
  track_perp_markets();
}

// When every agent is idle, a block changes nothing but the reference prices:
// no agent acts, the mempool stays empty, no market or wallet moves. Such
// blocks need only the scan of the price chunk against the agents' price
// bands, so a path through a calm market costs little more than its normals.
// A block that wakes an agent (a price leaves a band, a wake_block arrives) is
// left for step(). Market versions and the mempool cannot change while all
// sleep, so bands and wake blocks are the only conditions to check.
void World::skip_quiet_blocks(core::BlockNumber last) {
  // The agents' bands intersected per price component, in price and in log
  // space (see fall_asleep).
  struct MergedBand {
    std::size_t component;
    double low, high;
    double log_low, log_high;
  };
  constexpr std::size_t max_merged_bands = 16;
  std::array<MergedBand, max_merged_bands> bands;
  std::size_t band_count = 0;
  for (const IdleAgent& idle : idle_agents_) {
    if (idle.wake.wake_block <= block_ + 1) return;
    if (idle.wake.wake_block <= last) last = idle.wake.wake_block - 1;
    for (std::uint32_t i = 0; i < idle.wake.price_band_count; ++i) {
      const agents::PriceBand& band = idle.wake.price_bands[i];
      const int component = risky_index_[band.asset];
      if (component < 0) {
        // A constant price (the numeraire's): either it is inside for good or
        // the agent wakes next block.
        const double price = reference_prices_[band.asset];
        if (!(price > band.low && price < band.high)) return;
        continue;
      }
      std::size_t j = 0;
      while (j < band_count && bands[j].component != static_cast<std::size_t>(component)) ++j;
      if (j == band_count) {
        if (band_count == max_merged_bands) return;  // unusual: let step() check each block
        bands[band_count++] = {static_cast<std::size_t>(component), band.low, band.high,
                               idle.log_low[i], idle.log_high[i]};
      } else {
        bands[j].low = std::max(bands[j].low, band.low);
        bands[j].high = std::min(bands[j].high, band.high);
        bands[j].log_low = std::max(bands[j].log_low, idle.log_low[i]);
        bands[j].log_high = std::min(bands[j].log_high, idle.log_high[i]);
      }
    }
  }
  const std::size_t n = spec_.risky_assets.size();
  auto quiet_exactly = [&](const double* log_prices) {
    for (std::size_t j = 0; j < band_count; ++j) {
      const double price = core::exp_det(log_prices[bands[j].component]);
      if (!(price > bands[j].low && price < bands[j].high)) return false;  // NaN is not quiet
    }
    return true;
  };
  bool skipped = false;
  while (block_ < last) {
    if (chunk_position_ == chunk_blocks_) {
      if (skipped) publish_prices(chunk_position_ - 1);  // the refill overwrites them
      skipped = false;
      refill_price_chunk();
    }
    const std::size_t count =
        std::min<std::size_t>(chunk_blocks_ - chunk_position_, static_cast<std::size_t>(last - block_));
    const double* log_prices = &log_price_chunk_[chunk_position_ * n];
    std::size_t k = 0;
    if (band_count == 0) {
      k = count;  // nothing but wake blocks and samples to wait for
    } else if (band_count == 1) {
      // The common case, one price and its band: a tight scan.
      const MergedBand band = bands[0];
      const double* component = log_prices + band.component;
      while (k < count) {
        while (k < count && component[k * n] > band.log_low && component[k * n] < band.log_high) ++k;
        if (k == count || !quiet_exactly(log_prices + k * n)) break;
        ++k;
      }
    } else {
      for (; k < count; ++k) {
        const double* block_log_prices = log_prices + k * n;
        bool inside = true;
        for (std::size_t j = 0; j < band_count; ++j) {
          const double log_price = block_log_prices[bands[j].component];
          inside &= log_price > bands[j].log_low && log_price < bands[j].log_high;
        }
        if (!inside && !quiet_exactly(block_log_prices)) break;
      }
    }
    chunk_position_ += k;
    block_ += k;
    idle_statistics_.quiet_blocks += k;
    skipped = skipped || k > 0;
    if (k < count) break;  // block k wakes someone
  }
  if (skipped) publish_prices(chunk_position_ - 1);
}

void World::run(std::span<double> series, std::span<double> outcomes) {
  const std::size_t samples = plan_.samples();
  const double tolerance = 1e-9;
  start();
  if (spec_.check_conservation) check_conservation(tolerance);
  record(series, 0);
  std::size_t next_sample = 1;
  while (block_ < spec_.blocks) {
    const core::BlockNumber stop = next_sample < samples ? plan_.sample_blocks[next_sample] : spec_.blocks;
    // Skipped blocks change no holdings, so conservation checks lose nothing.
    // A twamm with active orders changes every block: no block is quiet.
    if (awake_agents_ == 0 && spec_.skip_idle_agents && !markets_move_between_blocks() && !plan_.changes_every_block) {
      skip_quiet_blocks(stop);
    }
    if (block_ < stop) {
      step();
      if (spec_.check_conservation) check_conservation(tolerance);
    }
    if (next_sample < samples && block_ == plan_.sample_blocks[next_sample]) record(series, next_sample++);
  }
  finish(outcomes);
}

void World::record(std::span<double> series, std::size_t sample) {
  const std::size_t samples = plan_.samples();
  auto slot = [&](std::size_t metric) -> double& { return series[metric * samples + sample]; };
  for (std::size_t i = 0; i < spec_.risky_assets.size(); ++i) {
    slot(plan_.reference_slots.series_offset + i) = reference_prices_[spec_.risky_assets[i]];
  }
  for (std::size_t m = 0; m < markets_.size(); ++m) {
    if (const auto* lending = std::get_if<markets::Lending>(&markets_[m])) {
      record_lending(*lending, m, series, sample);
      continue;
    }
    if (markets::is_perp(markets_[m])) {
      record_perp(static_cast<core::MarketIndex>(m), series, sample);
      continue;
    }
    const markets::Cpmm& pool = markets::constant_product_pool(markets_[m]);
    const std::size_t offset = plan_.market_slots[m].series_offset;
    slot(offset) = pool.spot_price();
    slot(offset + 1) = pool_value(pool);
    if (std::holds_alternative<markets::Twamm>(markets_[m])) {
      slot(offset + 2) = market_value(markets_[m]) - pool_value(pool);
    }
  }
  if (plan_.chain_slots.series_count > 0) slot(plan_.chain_slots.series_offset) = view_.base_gas_price_gwei;
  // Agents write a small contiguous scratch row; scatter it to [metric][sample].
  double scratch[max_series_per_agent];
  const agents::View& current = view();
  for (std::size_t a = 0; a < agents_.size(); ++a) {
    const MetricSlots& slots = plan_.agent_slots[a];
    if (slots.series_count == 0) continue;
    agents_[a]->record(current, std::span<double>(scratch, slots.series_count));
    for (std::size_t i = 0; i < slots.series_count; ++i) slot(slots.series_offset + i) = scratch[i];
  }
}

void World::finish(std::span<double> outcomes) {
  for (std::size_t m = 0; m < markets_.size(); ++m) {
    if (const auto* lending = std::get_if<markets::Lending>(&markets_[m])) {
      finish_lending(*lending, m, outcomes);
      continue;
    }
    if (markets::is_perp(markets_[m])) {
      finish_perp(static_cast<core::MarketIndex>(m), outcomes);
      continue;
    }
    const std::size_t offset = plan_.market_slots[m].outcome_offset;
    outcomes[offset] = market_totals_[m].swaps;
    outcomes[offset + 1] = market_totals_[m].volume;
    outcomes[offset + 2] = market_totals_[m].fees;
    outcomes[offset + 3] = pool_value(markets::constant_product_pool(markets_[m]));
    if (std::holds_alternative<markets::Twamm>(markets_[m])) {
      outcomes[offset + 4] = market_totals_[m].orders_placed;
      outcomes[offset + 5] = market_totals_[m].virtual_volume;
    }
  }
  const std::size_t chain = plan_.chain_slots.outcome_offset;
  outcomes[chain] = transactions_;
  outcomes[chain + 1] = reverts_;
  outcomes[chain + 2] = dropped_;
  outcomes[chain + 3] = gas_paid_;
  outcomes[chain + 4] = bundles_;
  outcomes[chain + 5] = bribes_;
  outcomes[chain + 6] = gas_paid_ + bribes_;
  outcomes[chain + 7] = victim_loss_;
  if (plan_.chain_slots.outcome_count > chain_outcome_count) outcomes[chain + 8] = peak_gas_price_gwei_;
  if (plan_.sampling_slots.outcome_count > 0) {
    outcomes[plan_.sampling_slots.outcome_offset] = core::exp_det(log_likelihood_ratio_);
  }
  const agents::View& current = view();
  for (std::size_t a = 0; a < agents_.size(); ++a) {
    const MetricSlots& slots = plan_.agent_slots[a];
    agents_[a]->finish(current, outcomes.subspan(slots.outcome_offset, slots.outcome_count));
  }
}

// In the order of ScenarioPlan::add_lending_metrics.
void World::record_lending(const markets::Lending& lending, std::size_t market, std::span<double> series,
                           std::size_t sample) {
  const std::size_t samples = plan_.samples();
  const std::size_t offset = plan_.market_slots[market].series_offset;
  auto slot = [&](std::size_t i) -> double& { return series[(offset + i) * samples + sample]; };
  const double now = static_cast<double>(block_) * spec_.block_time_seconds;
  double debt = 0.0, supply = 0.0, reserves = 0.0;
  for (std::size_t k = 0; k < lending.asset_count(); ++k) {
    const core::AssetIndex asset = lending.asset(k);
    debt += lending.total_debt(asset, now) * reference_prices_[asset];
    supply += lending.total_supply(asset, now) * reference_prices_[asset];
    reserves += lending.reserves(asset, now) * reference_prices_[asset];
  }
  slot(0) = debt;
  slot(1) = supply;
  slot(2) = reserves;
  slot(3) = market_totals_[market].bad_debt;
  const std::size_t liquidatable = lending.positions_below(1.0, protocol_prices_, now, position_scratch_);
  double liquidatable_debt = 0.0;
  for (std::size_t i = 0; i < liquidatable; ++i) {
    liquidatable_debt += lending.debt_value(position_scratch_[i], reference_prices_, now);
  }
  slot(4) = liquidatable_debt;
  slot(5) = static_cast<double>(liquidatable);
  slot(6) = static_cast<double>(lending.positions_below(1.1, protocol_prices_, now, position_scratch_));
  slot(7) = static_cast<double>(lending.positions_below(1.25, protocol_prices_, now, position_scratch_));
  std::size_t next = 8;
  for (std::size_t k = 0; k < lending.asset_count(); ++k) {
    if (lending.params().assets[k].borrowable) slot(next++) = lending.utilisation(lending.asset(k), now);
  }
}

void World::finish_lending(const markets::Lending& lending, std::size_t market, std::span<double> outcomes) {
  const MarketTotals& totals = market_totals_[market];
  double* out = &outcomes[plan_.market_slots[market].outcome_offset];
  const double now = static_cast<double>(block_) * spec_.block_time_seconds;
  double supplier_loss = 0.0, reserves = 0.0, debt = 0.0;
  for (std::size_t k = 0; k < lending.asset_count(); ++k) {
    const core::AssetIndex asset = lending.asset(k);
    supplier_loss += lending.supplier_loss(asset) * reference_prices_[asset];
    reserves += lending.reserves(asset, now) * reference_prices_[asset];
    debt += lending.total_debt(asset, now) * reference_prices_[asset];
  }
  // Once per path: every position, for the bad debt not yet written off.
  double underwater = 0.0;
  for (markets::PositionId p = 0; p < lending.position_count(); ++p) {
    const double shortfall =
        lending.debt_value(p, reference_prices_, now) - lending.collateral_value(p, reference_prices_, now);
    if (shortfall > 0.0) underwater += shortfall;
  }
  out[0] = totals.liquidations;
  out[1] = totals.liquidation_volume;
  out[2] = totals.collateral_seized_value;
  out[3] = totals.bad_debt;
  out[4] = totals.bad_debt > 0.0 ? 1.0 : 0.0;
  out[5] = supplier_loss;
  out[6] = reserves;
  out[7] = underwater;
  out[8] = totals.auctions_started;
  out[9] = totals.auction_takes;
  out[10] = debt;
  double auction_debt = 0.0, auction_collateral = 0.0, protocol_collateral = 0.0, resets = 0.0;
  for (std::size_t k = 0; k < lending.asset_count(); ++k) {
    const core::AssetIndex asset = lending.asset(k);
    auction_debt += lending.auction_debt(asset) * reference_prices_[asset];
    auction_collateral += lending.auction_collateral(asset) * reference_prices_[asset];
    protocol_collateral += lending.protocol_collateral(asset) * reference_prices_[asset];
  }
  for (markets::AuctionId id = 0; id < lending.auction_count(); ++id) resets += lending.auction(id).resets;
  out[11] = auction_debt;
  out[12] = auction_collateral;
  out[13] = protocol_collateral;
  out[14] = resets;
  out[15] = totals.auctions_closed_stale;
  std::size_t next = 16;
  for (std::size_t k = 0; k < lending.asset_count(); ++k) {
    if (lending.params().assets[k].borrowable) out[next++] = lending.utilisation(lending.asset(k), now);
  }
}

double World::pool_value(const markets::Cpmm& pool) const {
  return pool.reserve_x() * reference_prices_[pool.asset_x()] + pool.reserve_y() * reference_prices_[pool.asset_y()];
}

double World::market_value(const markets::Market& market) const {
  const markets::Cpmm& pool = markets::constant_product_pool(market);
  return markets::holdings_of(market, pool.asset_x()) * reference_prices_[pool.asset_x()] +
         markets::holdings_of(market, pool.asset_y()) * reference_prices_[pool.asset_y()];
}

ConservationReport World::conservation() const {
  ConservationReport report;
  for (std::size_t asset = 0; asset < spec_.assets.size(); ++asset) {
    const auto a = static_cast<core::AssetIndex>(asset);
    double sum = ledger_.venue(a);
    double gross = std::fabs(ledger_.venue(a));
    for (std::size_t account = 0; account < ledger_.accounts(); ++account) {
      const double held = ledger_.balance(static_cast<core::AgentIndex>(account), a);
      sum += held;
      gross += std::fabs(held);
    }
    for (const markets::Market& market : markets_) {
      const double held = markets::holdings_of(market, a);
      sum += held;
      gross += std::fabs(held);
    }
    // A NaN or infinite holding is the worst imbalance there is, not none.
    const double relative = !std::isfinite(sum) || !std::isfinite(gross) ? INFINITY
                            : gross > 0.0                                ? std::fabs(sum) / gross
                                                                         : 0.0;
    if (relative >= report.worst_relative_imbalance) {
      report = {relative, a, sum, gross};
    }
  }
  return report;
}

void World::check_conservation(double tolerance) const {
  const ConservationReport report = conservation();
  if (report.worst_relative_imbalance > tolerance) {
    throw core::InvariantViolation(fmt::format(
        "money not conserved: path {}, block {}, asset {}: wallets + markets + venue = {} (gross {}, relative {:.3e} > {})",
        path_, block_, spec_.assets[report.worst_asset], report.imbalance, report.gross,
        report.worst_relative_imbalance, tolerance));
  }
  for (std::size_t m = 0; m < markets_.size(); ++m) {
    const double total = markets::total_lp_shares(markets_[m]);
    if (std::isnan(total)) continue;  // no LP shares
    double held = 0.0;
    for (std::size_t account = 0; account < ledger_.accounts(); ++account) {
      held += ledger_.shares(static_cast<core::AgentIndex>(account), static_cast<core::MarketIndex>(m));
    }
    if (!(std::fabs(held - total) <= tolerance * total)) {  // NaN fails too
      throw core::InvariantViolation(fmt::format("LP shares not conserved: path {}, block {}, market {}: held {} vs total {}",
                                                 path_, block_, spec_.market_ids[m], held, total));
    }
  }
}

}  // namespace defisim::engine
