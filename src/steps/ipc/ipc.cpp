// ipc kernel: row-streaming in-place convolution with a ring of padded original rows per thread.
#include "stpipe/steps/ipc.h"

#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace stpipe::steps {

namespace {
// Planes whose halo rows are copied per barrier (bounds the halo buffer).
constexpr std::int64_t kPlaneChunk = 64;

// out[x] = sum over the 3x3 kernel in row-major order with the centre last, zero-padded rows
// p0 = science row y+1 (kernel row 0), p1 = row y, p2 = row y-1; padded column x+2-k.
void conv3x3_row(float* __restrict out, const float* __restrict p0, const float* __restrict p1,
                 const float* __restrict p2, const float* k, std::int64_t n) {
  const float k00 = k[0], k01 = k[1], k02 = k[2], k10 = k[3], k11 = k[4], k12 = k[5], k20 = k[6],
              k21 = k[7], k22 = k[8];
  for (std::int64_t x = 0; x < n; ++x) {
    float o = 0.0f;
    o = o + k00 * p0[x + 2];
    o = o + k01 * p0[x + 1];
    o = o + k02 * p0[x];
    o = o + k10 * p1[x + 2];
    o = o + k12 * p1[x];
    o = o + k20 * p2[x + 2];
    o = o + k21 * p2[x + 1];
    o = o + k22 * p2[x];
    o = o + k11 * p1[x + 1];
    out[x] = o;
  }
}
}  // namespace

RefPixelBorders ipc_reference_borders(bool is_miri, std::int64_t xstart, std::int64_t ystart,
                                      std::int64_t xsize, std::int64_t ysize) {
  const std::int64_t xs = xstart - 1, ys = ystart - 1;
  RefPixelBorders b;
  b.left = std::max<std::int64_t>(0, 4 - xs);
  if (is_miri) {
    b.right = std::max<std::int64_t>(0, xs + xsize - 1028);
  } else {
    b.bottom = std::max<std::int64_t>(0, 4 - ys);
    b.top = std::max<std::int64_t>(0, ys + ysize - 2044);
    b.right = std::max<std::int64_t>(0, xs + xsize - 2044);
  }
  return b;
}

void ipc_convolve(const RampShape& shape, std::span<float> data, std::span<const float> kernel,
                  std::int64_t kh, std::int64_t kw, const RefPixelBorders& borders) {
  if (kh < 1 || kw < 1) throw std::invalid_argument("ipc: kernel dimensions must be >= 1");
  if (static_cast<std::int64_t>(data.size()) != shape.size())
    throw std::invalid_argument("ipc: data has " + std::to_string(data.size()) +
                                " elements, expected " + std::to_string(shape.size()));
  const std::int64_t ny = shape.ny, nx = shape.nx, npix = shape.npix();
  const std::int64_t ksz = static_cast<std::int64_t>(kernel.size());
  const bool per_pixel = ksz != kh * kw;
  if (per_pixel && ksz != kh * kw * npix)
    throw std::invalid_argument("ipc: kernel has " + std::to_string(kernel.size()) +
                                " elements; expected " + std::to_string(kh * kw) + " (2-D) or " +
                                std::to_string(kh * kw * npix) + " (4-D)");
  if (borders.bottom < 0 || borders.top < 0 || borders.left < 0 || borders.right < 0)
    throw std::invalid_argument("ipc: negative reference border");
  const std::int64_t sny = ny - borders.bottom - borders.top;
  const std::int64_t snx = nx - borders.left - borders.right;
  const std::int64_t nplanes = shape.nints * shape.ngroups;
  if (sny <= 0 || snx <= 0 || nplanes == 0) return;

  const std::int64_t bb = kh / 2, tb = kh - bb - 1, lb = kw / 2, rb = kw - lb - 1;
  const std::int64_t mj = kh / 2, mk = kw / 2;
  const std::int64_t pw = snx + lb + rb;  // padded row width
  float* base = data.data();
  const float* K = kernel.data();
  auto srow = [&](std::int64_t plane, std::int64_t sy) {
    return base + plane * npix + (borders.bottom + sy) * nx + borders.left;
  };

#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const std::int64_t r0 = sny * t / nt, r1 = sny * (t + 1) / nt;
    // Original rows just outside this thread's block (other threads overwrite them), copied
    // for a chunk of planes before a barrier.
    const std::int64_t nhalo = bb + tb;
    const std::int64_t chunk = std::min<std::int64_t>(nplanes, kPlaneChunk);
    std::vector<float> halo(static_cast<std::size_t>(chunk * nhalo * snx));
    std::vector<float> ring(static_cast<std::size_t>(kh * pw), 0.0f);
    for (std::int64_t p0 = 0; p0 < nplanes; p0 += chunk) {
      const std::int64_t p1 = std::min(nplanes, p0 + chunk);
      auto halo_row = [&](std::int64_t p, std::int64_t sy) -> const float* {
        const std::int64_t h = sy < r0 ? sy - (r0 - bb) : bb + (sy - r1);
        return halo.data() + ((p - p0) * nhalo + h) * snx;
      };
      if (r1 > r0) {
        for (std::int64_t p = p0; p < p1; ++p)
          for (std::int64_t h = 0; h < nhalo; ++h) {
            const std::int64_t sy = h < bb ? r0 - bb + h : r1 + (h - bb);
            float* dst = halo.data() + ((p - p0) * nhalo + h) * snx;
            if (sy >= 0 && sy < sny) std::copy(srow(p, sy), srow(p, sy) + snx, dst);
          }
      }
#pragma omp barrier
      if (r1 > r0) {
        auto slot = [&](std::int64_t sy) { return ring.data() + (((sy % kh) + kh) % kh) * pw; };
        auto load = [&](std::int64_t p, std::int64_t sy) {
          float* dst = slot(sy);
          std::fill(dst, dst + pw, 0.0f);
          if (sy < 0 || sy >= sny) return;
          const float* s = (sy >= r0 && sy < r1) ? srow(p, sy) : halo_row(p, sy);
          std::copy(s, s + snx, dst + lb);
        };
        for (std::int64_t p = p0; p < p1; ++p) {
          for (std::int64_t sy = r0 - bb; sy <= r0 + tb - 1; ++sy) load(p, sy);
          for (std::int64_t y = r0; y < r1; ++y) {
            load(p, y + tb);  // the window is now rows y-bb .. y+tb
            // Row y's original is in the ring now, so the sums go straight into the data row.
            float* o = srow(p, y);
            if (!(kh == 3 && kw == 3 && !per_pixel)) std::fill(o, o + snx, 0.0f);
            auto add_term = [&](std::int64_t j, std::int64_t k) {
              // T[(kh-1-j)+y, (kw-1-k)+x]: science row y+(kh-1-j)-bb, padded column x+kw-1-k.
              const float* prow = slot(y + (kh - 1 - j) - bb) + (kw - 1 - k);
              if (!per_pixel) {
                const float kv = K[j * kw + k];
                for (std::int64_t x = 0; x < snx; ++x) o[x] += kv * prow[x];
              } else {
                const float* kr =
                    K + (j * kw + k) * npix + (borders.bottom + y) * nx + borders.left;
                for (std::int64_t x = 0; x < snx; ++x) o[x] += kr[x] * prow[x];
              }
            };
            if (kh == 3 && kw == 3 && !per_pixel) {
              // The common 3x3 case in one register-resident pass, same term order.
              conv3x3_row(o, slot(y + 1), slot(y), slot(y - 1), K, snx);
            } else {
              for (std::int64_t j = 0; j < kh; ++j)
                for (std::int64_t k = 0; k < kw; ++k)
                  if (!(j == mj && k == mk)) add_term(j, k);
              add_term(mj, mk);
            }
          }
        }
      }
#pragma omp barrier
    }
  }
}

}  // namespace stpipe::steps
