// saturation kernel: streaming per-group passes over row blocks, dilation via row/column maxima.
#include "stpipe/steps/saturation.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "stpipe/steps/detail/row_blocks.h"
#include "stpipe/steps/detail/simd.h"
#include "stpipe/steps/dqflags.h"
#include "stpipe/util/big_alloc.h"

namespace stpipe::steps {

using namespace ::stpipe::steps::detail;  // lane vectors (detail/simd.h)

namespace {

// Below this many pixels per plane the per-group barriers cost more than they save.
constexpr std::int64_t kParallelMinPixels = 16384;
constexpr std::uint8_t kSat = static_cast<std::uint8_t>(dq::kSaturated);
constexpr std::uint8_t kDnu = static_cast<std::uint8_t>(dq::kDoNotUse);
constexpr std::uint8_t kFloor = static_cast<std::uint8_t>(dq::kAdFloor | dq::kDoNotUse);
constexpr std::int64_t kChunk = 64;            // pixels per chunk of the sparse SAT pass
constexpr std::int64_t kPrefetchAhead = 2048;  // pixels ahead in each group plane's run

void require_size(std::size_t got, std::int64_t want, const char* what) {
  if (static_cast<std::int64_t>(got) != want)
    throw std::invalid_argument(std::string("saturation: ") + what + " has " + std::to_string(got) +
                                " elements, expected " + std::to_string(want));
}

// hrow[x] = OR of src[x-n .. x+n] (outside = 0).
void dilate_row(const std::uint8_t* src, std::uint8_t* hrow, std::int64_t nx, int n) {
  if (n == 0) {
    std::copy(src, src + nx, hrow);
    return;
  }
  std::fill(hrow, hrow + nx, std::uint8_t{0});
  for (int dx = -n; dx <= n; ++dx) {
    const std::int64_t lo = std::max<std::int64_t>(0, -dx);
    const std::int64_t hi = std::min<std::int64_t>(nx, nx - dx);
    for (std::int64_t x = lo; x < hi; ++x) hrow[x] |= src[x + dx];
  }
}

// Sets `flag` in q[y] where any of hmask[y-n .. y+n] is non-zero.
void apply_vertical(const std::uint8_t* hmask, std::uint8_t* qrow, std::int64_t y, std::int64_t ny,
                    std::int64_t nx, int n, std::uint8_t flag, std::uint8_t* acc) {
  const std::int64_t y0 = std::max<std::int64_t>(0, y - n);
  const std::int64_t y1 = std::min<std::int64_t>(ny - 1, y + n);
  std::copy(hmask + y0 * nx, hmask + y0 * nx + nx, acc);
  for (std::int64_t yy = y0 + 1; yy <= y1; ++yy) {
    const std::uint8_t* h = hmask + yy * nx;
    for (std::int64_t x = 0; x < nx; ++x) acc[x] |= h[x];
  }
  for (std::int64_t x = 0; x < nx; ++x) qrow[x] |= acc[x] ? flag : std::uint8_t{0};
}

}  // namespace

void flag_saturation(const RampShape& shape, std::span<const float> data,
                     std::span<std::uint8_t> groupdq, std::span<std::uint32_t> pixeldq,
                     std::span<float> sat_thresh, std::span<std::uint32_t> sat_dq,
                     std::span<const float> bias, std::span<float> zeroframe,
                     const SaturationOptions& opt) {
  const std::int64_t ny = shape.ny, nx = shape.nx, npix = shape.npix();
  const std::int64_t nints = shape.nints, ngroups = shape.ngroups;
  if (ny < 0 || nx < 0 || nints < 0 || ngroups < 0)
    throw std::invalid_argument("saturation: negative dimension");
  require_size(data.size(), shape.size(), "data");
  require_size(groupdq.size(), shape.size(), "groupdq");
  require_size(pixeldq.size(), npix, "pixeldq");
  require_size(sat_thresh.size(), npix, "saturation threshold");
  require_size(sat_dq.size(), npix, "saturation dq");
  if (!bias.empty()) require_size(bias.size(), npix, "superbias");
  if (!zeroframe.empty()) require_size(zeroframe.size(), nints * npix, "zeroframe");
  if (opt.n_pix_grow_sat < 0) throw std::invalid_argument("saturation: n_pix_grow_sat < 0");
  if (opt.use_read_pattern && opt.nframes < 1)
    throw std::invalid_argument("saturation: nframes must be >= 1");
  if (npix == 0) return;

  std::uint32_t* sdq = sat_dq.data();
  const float* b = bias.empty() ? nullptr : bias.data();
  const float no_check_thr = opt.atod_limit + 1.0f;

  // Read-pattern quantities (rp[g] = g*nf+1 .. g*nf+nf; groupgap ignored, as jwst builds it).
  const int nf = opt.nframes;
  auto rp_mean = [nf](std::int64_t g) {
    double sum = 0;
    for (int k = 1; k <= nf; ++k) sum += static_cast<double>(g * nf + k);
    return sum / nf;
  };
  auto rp_last = [nf](std::int64_t g) { return static_cast<double>(g * nf + nf); };
  // Dilution factor per group, and whether the backward pass can flag anything at all.
  std::vector<double> fg(static_cast<std::size_t>(std::max<std::int64_t>(ngroups, 0)), 1.0);
  bool dilution = false;
  if (opt.use_read_pattern)
    for (std::int64_t g = 0; g + 1 < ngroups; ++g) {
      fg[g] = rp_mean(g) / rp_last(g);
      dilution |= fg[g] != 1.0;
    }

  // Scratch planes from the block cache (given back when the call returns): first/hmin
  // (uint16) for the fast forward pass; prev/hmask (bytes) only for the per-group passes and the
  // zeroframe, allocated when one of them runs.
  constexpr std::uint16_t kNever = 0xFFFF;
  const bool fast_ok = ngroups < kNever && !(dilution && ngroups > 33);
  util::BigBuffer<std::uint16_t> scratch16(fast_ok ? static_cast<std::size_t>(2 * npix) : 0);
  util::BigBuffer<std::uint8_t> scratch8;
  std::uint8_t* pv = nullptr;
  std::uint8_t* hm = nullptr;
  auto need_scratch8 = [&] {
    if (pv) return;
    scratch8 = util::BigBuffer<std::uint8_t>(static_cast<std::size_t>(2 * npix));
    pv = scratch8.data();
    hm = scratch8.data() + npix;
  };
  if (!fast_ok || !zeroframe.empty()) need_scratch8();
  std::uint16_t* fst = scratch16.data();
  std::uint16_t* hmn = fast_ok ? scratch16.data() + npix : nullptr;
  bool extra_src = false;
  // Dilution candidates per pixel as a bitmask over groups (fast path for ngroups <= 33).
  util::BigBuffer<std::uint32_t> scratch32(
      dilution && ngroups <= 33 ? static_cast<std::size_t>(npix) : 0);
  std::uint32_t* cmask = scratch32.data();

  // Rows per block of the fast forward pass (64 KiB of each float plane).
  const std::int64_t brows = detail::rows_per_block(nx, ny, sizeof(float));
  const std::int64_t nblocks = (ny + brows - 1) / brows;
#pragma omp parallel if (npix >= kParallelMinPixels)
  {
    // Private copies: uint8 stores may alias the shared captures, which blocks vectorisation.
    const std::int64_t nx = shape.nx, ny = shape.ny, npix = shape.npix(), ngroups = shape.ngroups;
    const int n = opt.n_pix_grow_sat;
    float* const thr = sat_thresh.data();
    std::uint8_t* const q = groupdq.data();
    const float* const d = data.data();
    std::vector<std::uint8_t> row(static_cast<std::size_t>(nx)), acc(row.size());
    std::vector<std::uint16_t> mrow(row.size());
    std::vector<std::int32_t> first_row(fast_ok ? static_cast<std::size_t>(brows * nx) : 0);
    std::uint8_t* src = row.data();

    // 1. NO_SAT_CHECK and NaN thresholds; 3. pixeldq |= the updated saturation dq.
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < npix; ++p) {
      const bool nan = std::isnan(thr[p]);
      if (nan) sdq[p] |= dq::kNoSatCheck;
      if (nan || (sdq[p] & dq::kNoSatCheck) == dq::kNoSatCheck) thr[p] = no_check_thr;
      pixeldq[p] |= sdq[p];  // 3. (sdq does not change after this)
    }

    // The general forward pass, one group plane at a time (two barriers per group).
    auto forward_per_group = [&](std::int64_t i) {
      const float* di = d + i * shape.int_stride();
      std::uint8_t* qi = q + i * shape.int_stride();
#pragma omp for schedule(static)
      for (std::int64_t p = 0; p < npix; ++p) pv[p] = 0;
      for (std::int64_t g = 0; g < ngroups; ++g) {
        const float* dg = di + g * npix;
        std::uint8_t* qg = qi + g * npix;
#pragma omp for schedule(static)
        for (std::int64_t y = 0; y < ny; ++y) {
          const std::int64_t r = y * nx;
          for (std::int64_t x = 0; x < nx; ++x) {
            const float v = dg[r + x];
            const std::uint8_t s = pv[r + x] | static_cast<std::uint8_t>(v >= thr[r + x]);
            pv[r + x] = s;
            std::uint8_t qq = qg[r + x] | (s ? kSat : std::uint8_t{0});
            qq |= (v <= 0.0f) ? kFloor : std::uint8_t{0};
            qg[r + x] = qq;
            src[x] = qq & kSat;
          }
          if (n > 0) dilate_row(src, hm + r, nx, n);
        }
        if (n > 0) {
#pragma omp for schedule(static)
          for (std::int64_t y = 0; y < ny; ++y)
            apply_vertical(hm, qg + y * nx, y, ny, nx, n, kSat, acc.data());
        }
      }
    };

    // 2c, for one pixel p of an integration (di, qi): DO_NOT_USE in group 1 where the data
    // jumped to saturation within group 2 (SAT in group 2, not in group 1).
    const bool group2 = opt.use_read_pattern && ngroups > 2;
    const double mean0 = rp_mean(0);
    const double last2 = rp_last(2);
    const float mean0_f = static_cast<float>(mean0);
    const float last2_f = static_cast<float>(last2);
    const float len1_f = static_cast<float>(nf);
    const bool np1 = opt.numpy1_promotion;
    auto group2_test = [&](const float* di, std::uint8_t* qi, std::int64_t p) {
      const float* d0 = di;
      const float* d1 = di + npix;
      std::uint8_t* q1 = qi + npix;
      const std::uint8_t* q2 = qi + 2 * npix;
      const float bb = b ? b[p] : 0.0f;
      const float s1 = d0[p] - bb;
      bool m1;
      if (np1) {
        m1 = (s1 / mean0_f) * last2_f + bb < thr[p];
      } else {
        m1 = (static_cast<double>(s1) / mean0) * last2 + static_cast<double>(bb) <
             static_cast<double>(thr[p]);
      }
      const bool m2 = (d1[p] - d0[p]) > (thr[p] - d0[p]) / len1_f;
      const bool m3 = (q2[p] & kSat) != 0 && (q1[p] & kSat) == 0;
      if (m1 && m2 && m3) q1[p] |= kDnu;
    };

    for (std::int64_t i = 0; i < nints; ++i) {
      const float* di = d + i * shape.int_stride();
      std::uint8_t* qi = q + i * shape.int_stride();

      // 2a. Forward pass. Fast path: with `first` = the first group reaching the threshold,
      // the SAT source of group g is (g >= first), so the grown flag is g >= (box minimum of
      // first): two row-outer passes, each reading the threshold once. SAT bits already in
      // the input groupdq before `first` are extra sources: then the per-group path runs.
#pragma omp single
      extra_src = !fast_ok;
#pragma omp for schedule(static) reduction(|| : extra_src)
      for (std::int64_t blk = 0; blk < (fast_ok ? nblocks : 0); ++blk) {
        // A block of rows: contiguous in every group plane, so each plane's share is one run.
        const std::int64_t yb = blk * brows, yend = std::min(ny, yb + brows);
        const std::int64_t r = yb * nx, npx = (yend - yb) * nx;
        std::uint16_t* f = fst + r;
        std::int32_t* fr = first_row.data();  // `first` of this block while the groups stream by
        for (std::int64_t x = 0; x < npx; ++x) fr[x] = kNever;
        if (dilution)
          for (std::int64_t x = 0; x < npx; ++x) cmask[r + x] = 0;
        std::uint8_t extra = 0;
        for (std::int64_t g = 0; g < ngroups; ++g) {
          const float* dg = di + g * npix + r;
          std::uint8_t* qg = qi + g * npix + r;
          const std::int32_t gg = static_cast<std::int32_t>(g);
          const float* t = thr + r;
          const std::int64_t next = next_run_start(g, ngroups, npix, r, npx);
          // One vector of pixels at a time, and groupdq is written only where a pixel is at the
          // A-to-D floor: unchanged cache lines stay clean and are never written back.
          std::int64_t x = 0;
          for (; x + kF32Lanes <= npx; x += kF32Lanes) {
            // One prefetch per cache line ahead, carried over into the next run.
            if ((x & 15) == 0)
              __builtin_prefetch(prefetch_target(dg, di + next, npx, x, kPrefetchAhead));
            if ((x & 63) == 0)
              __builtin_prefetch(
                  prefetch_target<std::uint8_t>(qg, qi + next, npx, x, kPrefetchAhead));
            const f32v v = load<f32v>(dg + x);
            const i32v f0 = load<i32v>(fr + x);
            const i32v fx = (v >= load<f32v>(t + x)) & (f0 > gg) ? i32v{} + gg : f0;
            store(fr + x, fx);
            const i32v hit = ((fx > gg) & (widen_u8(qg + x) & kSat)) | (v <= 0.0f);
            if (lane_bits(hit != 0) == 0) continue;
            for (std::int64_t k = x; k < x + kF32Lanes; ++k) {
              extra |= static_cast<std::uint8_t>(fr[k] > gg ? (qg[k] & kSat) : 0);
              if (dg[k] <= 0.0f) qg[k] |= kFloor;
            }
          }
          for (; x < npx; ++x) {
            const float v = dg[x];
            if (v >= t[x] && fr[x] > gg) fr[x] = gg;
            extra |= static_cast<std::uint8_t>(fr[x] > gg ? (qg[x] & kSat) : 0);
            if (v <= 0.0f) qg[x] |= kFloor;
          }
          // Dilution candidates: bit g where d >= thr*f_g and group g has no DNU (its SAT
          // state is settled later through g = m-1).
          if (dilution && g + 1 < ngroups && fg[g] != 1.0) {
            std::uint32_t* cm = cmask + r;
            const std::uint32_t bit = std::uint32_t{1} << g;
            const double fgg = fg[g];
            const std::uint32_t* sq = sdq + r;
            for (std::int64_t x = 0; x < npx; ++x) {
              const double fp = (sq[x] & dq::kNoSatCheck) ? 1.0 : fgg;
              const bool c = static_cast<double>(dg[x]) >= static_cast<double>(t[x]) * fp &&
                             (qg[x] & kDnu) == 0;
              cm[x] |= c ? bit : 0u;
            }
          }
        }
        extra_src = extra_src || extra != 0;
        for (std::int64_t x = 0; x < npx; ++x) f[x] = static_cast<std::uint16_t>(fr[x]);
        // Horizontal box minimum of `first`, row by row.
        for (std::int64_t y = yb; y < yend; ++y) {
          const std::uint16_t* fy = fst + y * nx;
          std::uint16_t* h = hmn + y * nx;
          std::copy(fy, fy + nx, h);
          for (int dx = -n; dx <= n; ++dx) {
            const std::int64_t lo = std::max<std::int64_t>(0, -dx);
            const std::int64_t hi = std::min<std::int64_t>(nx, nx - dx);
            for (std::int64_t x = lo; x < hi; ++x) h[x] = std::min(h[x], fy[x + dx]);
          }
        }
      }
      if (!extra_src) {
#pragma omp for schedule(static)
        for (std::int64_t y = 0; y < ny; ++y) {
          const std::int64_t y0 = std::max<std::int64_t>(0, y - n);
          const std::int64_t y1 = std::min<std::int64_t>(ny - 1, y + n);
          std::uint16_t* m = mrow.data();
          std::copy(hmn + y0 * nx, hmn + y0 * nx + nx, m);
          for (std::int64_t yy = y0 + 1; yy <= y1; ++yy) {
            const std::uint16_t* h = hmn + yy * nx;
            for (std::int64_t x = 0; x < nx; ++x) m[x] = std::min(m[x], h[x]);
          }
          // SAT from group m[x] on: few pixels saturate, so only the chunks (one groupdq cache
          // line each) holding one are visited, a whole line per group from the chunk's first
          // saturated group on. The group-2 test (2c below, for the general path) needs SAT
          // in group 2 but not in group 1, which here means m[x] == 2; it runs for those
          // pixels now (it reads and flags only its own pixel).
          for (std::int64_t x0 = 0; x0 < nx; x0 += kChunk) {
            const std::int64_t x1 = std::min(nx, x0 + kChunk);
            std::uint16_t lo = kNever;
            for (std::int64_t x = x0; x < x1; ++x) lo = std::min(lo, m[x]);
            if (lo >= ngroups) continue;
            for (std::int64_t g = lo; g < ngroups; ++g) {
              std::uint8_t* qrow = qi + g * npix + y * nx;
              const auto gg = static_cast<std::uint16_t>(g);
              for (std::int64_t x = x0; x < x1; ++x) qrow[x] |= m[x] <= gg ? kSat : std::uint8_t{0};
            }
            if (group2 && lo <= 2)
              for (std::int64_t x = x0; x < x1; ++x)
                if (m[x] == 2) group2_test(di, qi, y * nx + x);
          }
          // Backward dilution pass, fast form: SAT in group g+1 but not in g means g = m-1, so
          // each pixel has at most one candidate group. Record it (or kNever) in `first`,
          // whose values are no longer needed.
          if (dilution) {
            std::uint16_t* pg = fst + y * nx;
            const std::uint32_t* cm = cmask + y * nx;
            for (std::int64_t x = 0; x < nx; ++x) {
              const std::int64_t g = static_cast<std::int64_t>(m[x]) - 1;
              const bool cand = g >= 0 && g <= ngroups - 2 && ((cm[x] >> (g & 31)) & 1u) != 0;
              pg[x] = cand ? static_cast<std::uint16_t>(g) : kNever;
            }
          }
        }
        if (dilution) {
          // DO_NOT_USE in group pg[nb] of every pixel within n of a candidate nb.
#pragma omp for schedule(static)
          for (std::int64_t y = 0; y < ny; ++y) {
            const std::int64_t y0 = std::max<std::int64_t>(0, y - n);
            const std::int64_t y1 = std::min<std::int64_t>(ny - 1, y + n);
            for (std::int64_t yy = y0; yy <= y1; ++yy) {
              const std::uint16_t* pg = fst + yy * nx;
              std::uint16_t lo = kNever;
              for (std::int64_t x = 0; x < nx; ++x) lo = std::min(lo, pg[x]);
              if (lo == kNever) continue;
              for (std::int64_t x = 0; x < nx; ++x) {
                if (pg[x] == kNever) continue;
                const std::int64_t x0 = std::max<std::int64_t>(0, x - n);
                const std::int64_t x1 = std::min<std::int64_t>(nx - 1, x + n);
                std::uint8_t* qrow = qi + pg[x] * npix + y * nx;
                for (std::int64_t xx = x0; xx <= x1; ++xx) qrow[xx] |= kDnu;
              }
            }
          }
        }
      } else {
#pragma omp single
        need_scratch8();
        forward_per_group(i);
      }

      // 2b. Backward dilution pass (DO_NOT_USE where the group-averaged value hid saturation),
      // general form (the fast form ran above unless extra SAT sources were found).
      if (opt.use_read_pattern) {
        for (std::int64_t g = ngroups - 2; g >= 0 && extra_src; --g) {
          const double f = rp_mean(g) / rp_last(g);
          if (f == 1.0) continue;
          const float* dg = di + g * npix;
          std::uint8_t* qg = qi + g * npix;
          const std::uint8_t* qn = qi + (g + 1) * npix;
#pragma omp for schedule(static)
          for (std::int64_t y = 0; y < ny; ++y) {
            const std::int64_t r = y * nx;
            for (std::int64_t x = 0; x < nx; ++x) {
              const double fp = (sdq[r + x] & dq::kNoSatCheck) ? 1.0 : f;
              const bool part =
                  static_cast<double>(dg[r + x]) >= static_cast<double>(thr[r + x]) * fp &&
                  (qg[r + x] & (kSat | kDnu)) == 0 && (qn[r + x] & kSat) != 0;
              src[x] = part ? kDnu : std::uint8_t{0};
            }
            if (n > 0) {
              dilate_row(src, hm + r, nx, n);
            } else {
              for (std::int64_t x = 0; x < nx; ++x) qg[r + x] |= src[x];
            }
          }
          if (n > 0) {
#pragma omp for schedule(static)
            for (std::int64_t y = 0; y < ny; ++y)
              apply_vertical(hm, qg + y * nx, y, ny, nx, n, kDnu, acc.data());
          }
        }

        // 2c. Group-2 test: a jump to saturation inside group 2 (no dilation). The fast path
        // ran it in its vertical pass already.
        if (group2 && extra_src) {
#pragma omp for schedule(static)
          for (std::int64_t p = 0; p < npix; ++p) group2_test(di, qi, p);
        }
      }

      // 2d. ZEROFRAME: zero where saturated (grown) or at the A-to-D floor.
      if (!zeroframe.empty()) {
        float* zf = zeroframe.data() + i * npix;
        if (n > 0) {
#pragma omp for schedule(static)
          for (std::int64_t y = 0; y < ny; ++y) {
            const std::int64_t r = y * nx;
            for (std::int64_t x = 0; x < nx; ++x)
              src[x] = static_cast<std::uint8_t>(zf[r + x] >= thr[r + x]);
            dilate_row(src, hm + r, nx, n);
          }
        }
#pragma omp for schedule(static)
        for (std::int64_t y = 0; y < ny; ++y) {
          const std::int64_t r = y * nx;
          std::uint8_t* a = acc.data();
          if (n > 0) {
            const std::int64_t y0 = std::max<std::int64_t>(0, y - n);
            const std::int64_t y1 = std::min<std::int64_t>(ny - 1, y + n);
            std::copy(hm + y0 * nx, hm + y0 * nx + nx, a);
            for (std::int64_t yy = y0 + 1; yy <= y1; ++yy)
              for (std::int64_t x = 0; x < nx; ++x) a[x] |= hm[yy * nx + x];
          } else {
            for (std::int64_t x = 0; x < nx; ++x)
              a[x] = static_cast<std::uint8_t>(zf[r + x] >= thr[r + x]);
          }
          for (std::int64_t x = 0; x < nx; ++x)
            if (a[x] || zf[r + x] <= 0.0f) zf[r + x] = 0.0f;
        }
      }
    }
  }
}

}  // namespace stpipe::steps
