// kernel_operator.h: A SYNTAX CHECK ONLY, NOT CANN. The declarations of the AscendC API that ternc's emitted
// kernels use (--emit=ascendc, targets/ascend-910b/emit), with the signatures of the public AscendC
// documentation (cannmirror/asc-devkit docs/api), so that `g++ -std=c++17 -fsyntax-only` checks that the emitted
// kernels parse, name real types, call functions with the documented parameter lists and instantiate every
// template they use. Nothing here computes anything; nothing here says the kernels are correct on a 910B.
//
// Deviations from CANN, on purpose: the address-space and kernel keywords of the ASC language are empty macros;
// ASCEND_IS_AIC / ASCEND_IS_AIV are run-time conditions (CANN makes them `constexpr`), so that both the cube and
// the vector halves of a mixed kernel are instantiated and checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#define __aicore__
#define __global__
#define __gm__
#define GM_ADDR __gm__ uint8_t *

/// The half-precision and int4 element types of the AI Core.
struct half {
  half() = default;
  half(float) {}
};
struct int4b_t {
  uint8_t bits;
};

enum pipe_t { PIPE_S, PIPE_V, PIPE_M, PIPE_MTE1, PIPE_MTE2, PIPE_MTE3, PIPE_FIX, PIPE_ALL };

enum KernelType { KERNEL_TYPE_AIV_ONLY, KERNEL_TYPE_AIC_ONLY, KERNEL_TYPE_MIX_AIC_1_1, KERNEL_TYPE_MIX_AIC_1_2 };
#define KERNEL_TASK_TYPE_DEFAULT(type) static_assert(type >= KERNEL_TYPE_AIV_ONLY, "kernel type")

namespace AscendC {

enum class TPosition { GM, A1, A2, B1, B2, C1, C2, CO1, CO2, VECIN, VECOUT, VECCALC };
enum class RoundMode { CAST_NONE, CAST_RINT, CAST_FLOOR, CAST_CEIL, CAST_ROUND, CAST_TRUNC, CAST_ODD };
enum class QuantMode_t { NoQuant, F322F16, F322BF16, DEQF16, VDEQF16, QF322B8_PRE, VQF322B8_PRE, REQ8, VREQ8 };
enum class CacheLine { SINGLE_CACHE_LINE, ENTIRE_DATA_CACHE };
enum class DcciDst { CACHELINE_ALL, CACHELINE_UB, CACHELINE_OUT, CACHELINE_ATOMIC };
enum CoreType { AIC, AIV };

CoreType GetCoreType();
int64_t GetBlockIdx();
int64_t GetBlockNum();
int64_t GetSubBlockIdx();
int64_t GetSubBlockNum();

template <typename T> class LocalTensor {
public:
  LocalTensor operator[](uint32_t offset) const;
  template <typename U> LocalTensor<U> ReinterpretCast() const;
  T GetValue(uint32_t index) const;
  void SetValue(uint32_t index, T value) const;
};

template <typename T> class GlobalTensor {
public:
  void SetGlobalBuffer(__gm__ T *buffer, uint64_t bufferSize = 0);
  GlobalTensor operator[](uint64_t offset) const;
  T GetValue(uint64_t offset) const;
  void SetValue(uint64_t offset, T value) const;
};

template <TPosition pos, int32_t depth> class TQue {
public:
  template <typename T> LocalTensor<T> AllocTensor();
  template <typename T> bool EnQue(const LocalTensor<T> &tensor);
  template <typename T> LocalTensor<T> DeQue();
  template <typename T> void FreeTensor(LocalTensor<T> &tensor);
};

template <TPosition pos = TPosition::VECCALC> class TBuf {
public:
  template <typename T> LocalTensor<T> Get();
  template <typename T> LocalTensor<T> Get(uint32_t len);
};

class TPipe {
public:
  template <TPosition pos, int32_t depth> bool InitBuffer(TQue<pos, depth> &que, uint8_t num, uint32_t len);
  template <TPosition pos> bool InitBuffer(TBuf<pos> &buf, uint32_t len);
};

// ---- data movement --------------------------------------------------------------------------------------

struct DataCopyParams {
  uint16_t blockCount = 1, blockLen = 0, srcStride = 0, dstStride = 0;
};

struct DataCopyExtParams {
  DataCopyExtParams() = default;
  DataCopyExtParams(uint16_t count, uint32_t len, uint32_t srcStrideIn, uint32_t dstStrideIn, uint32_t rsvIn);
  uint16_t blockCount = 1;
  uint32_t blockLen = 0, srcStride = 0, dstStride = 0, rsv = 0;
};

template <typename T> struct DataCopyPadExtParams {
  DataCopyPadExtParams() = default;
  DataCopyPadExtParams(bool isPadValue, uint8_t leftPadValue, uint8_t rightPadValue, T padValue);
  bool isPad = false;
  uint8_t leftPadding = 0, rightPadding = 0;
  T paddingValue{};
};

struct Nd2NzParams {
  uint16_t ndNum = 0, nValue = 0, dValue = 0, srcNdMatrixStride = 0, srcDValue = 0, dstNzC0Stride = 0,
           dstNzNStride = 0, dstNzMatrixStride = 0;
};

struct LoadData2DParams {
  uint16_t startIndex = 0;
  uint8_t repeatTimes = 0;
  uint16_t srcStride = 0;
  uint8_t sid = 0;
  uint16_t dstGap = 0;
  bool ifTranspose = false;
  uint8_t addrMode = 0;
};

struct MmadParams {
  uint16_t m = 0, n = 0, k = 0;
  bool isBias = false;
  int32_t fmOffset = 0;
  bool enSsparse = false, enWinogradA = false, enWinogradB = false;
  uint8_t unitFlag = 0;
  bool kDirectionAlign = false, cmatrixSource = false, cmatrixInitVal = true;
};

struct FixpipeParamsV220 {
  uint16_t nSize = 0, mSize = 0, srcStride = 0;
  uint32_t dstStride = 0;
  QuantMode_t quantPre = QuantMode_t::NoQuant;
  uint64_t deqScalar = 0;
  uint16_t ndNum = 1, srcNdStride = 0, dstNdStride = 0;
  bool reluEn = false;
  uint8_t unitFlag = 0;
  bool isChannelSplit = false;
};

template <typename T> void DataCopy(const LocalTensor<T> &dst, const GlobalTensor<T> &src, const DataCopyParams &p);
template <typename T> void DataCopy(const GlobalTensor<T> &dst, const LocalTensor<T> &src, const DataCopyParams &p);
template <typename T> void DataCopy(const LocalTensor<T> &dst, const LocalTensor<T> &src, const DataCopyParams &p);
template <typename T> void DataCopy(const LocalTensor<T> &dst, const GlobalTensor<T> &src, uint32_t count);
template <typename T> void DataCopy(const GlobalTensor<T> &dst, const LocalTensor<T> &src, uint32_t count);
template <typename T> void DataCopy(const LocalTensor<T> &dst, const LocalTensor<T> &src, uint32_t count);
/// GM (ND) -> L1 (NZ).
template <typename T> void DataCopy(const LocalTensor<T> &dst, const GlobalTensor<T> &src, const Nd2NzParams &p);
template <typename T>
void DataCopyPad(const LocalTensor<T> &dst, const GlobalTensor<T> &src, const DataCopyExtParams &p,
                 const DataCopyPadExtParams<T> &pad);
template <typename T>
void DataCopyPad(const GlobalTensor<T> &dst, const LocalTensor<T> &src, const DataCopyExtParams &p);

template <typename T> void LoadData(const LocalTensor<T> &dst, const LocalTensor<T> &src, const LoadData2DParams &p);
template <typename DstT, typename Src0T, typename Src1T>
void Mmad(const LocalTensor<DstT> &dst, const LocalTensor<Src0T> &fm, const LocalTensor<Src1T> &filter,
          const MmadParams &p);
template <typename DstT, typename SrcT>
void Fixpipe(const GlobalTensor<DstT> &dst, const LocalTensor<SrcT> &src, const FixpipeParamsV220 &p);

// ---- vector ------------------------------------------------------------------------------------------------

#define TERNC_SYNTAX_BINARY(name)                                                                                \
  template <typename T>                                                                                          \
  void name(const LocalTensor<T> &dst, const LocalTensor<T> &src0, const LocalTensor<T> &src1, const int32_t &count);
TERNC_SYNTAX_BINARY(Add)
TERNC_SYNTAX_BINARY(Sub)
TERNC_SYNTAX_BINARY(Mul)
TERNC_SYNTAX_BINARY(Div)
TERNC_SYNTAX_BINARY(Max)
TERNC_SYNTAX_BINARY(Min)
TERNC_SYNTAX_BINARY(And)
TERNC_SYNTAX_BINARY(Or)
#undef TERNC_SYNTAX_BINARY

#define TERNC_SYNTAX_SCALAR(name)                                                                                \
  template <typename T>                                                                                          \
  void name(const LocalTensor<T> &dst, const LocalTensor<T> &src, const T &scalar, const int32_t &count);
TERNC_SYNTAX_SCALAR(Adds)
TERNC_SYNTAX_SCALAR(Muls)
TERNC_SYNTAX_SCALAR(Maxs)
TERNC_SYNTAX_SCALAR(Mins)
TERNC_SYNTAX_SCALAR(ShiftLeft)
TERNC_SYNTAX_SCALAR(ShiftRight)
TERNC_SYNTAX_SCALAR(Axpy)
#undef TERNC_SYNTAX_SCALAR

#define TERNC_SYNTAX_UNARY(name)                                                                                 \
  template <typename T> void name(const LocalTensor<T> &dst, const LocalTensor<T> &src, const int32_t &count);
TERNC_SYNTAX_UNARY(Exp)
TERNC_SYNTAX_UNARY(Abs)
TERNC_SYNTAX_UNARY(Relu)
TERNC_SYNTAX_UNARY(Sqrt)
TERNC_SYNTAX_UNARY(Reciprocal)
TERNC_SYNTAX_UNARY(Ln)
#undef TERNC_SYNTAX_UNARY

/// Erf, Tanh, Sin and Cos are in the high-level math library (kernel_operator.h includes it).
template <typename T, bool isReuseSource = false>
void Erf(const LocalTensor<T> &dst, const LocalTensor<T> &src, const uint32_t calCount);
template <typename T, bool isReuseSource = false>
void Tanh(const LocalTensor<T> &dst, const LocalTensor<T> &src, const uint32_t calCount);
template <typename T, bool isReuseSource = false>
void Sin(const LocalTensor<T> &dst, const LocalTensor<T> &src, const uint32_t calCount);
template <typename T, bool isReuseSource = false>
void Cos(const LocalTensor<T> &dst, const LocalTensor<T> &src, const uint32_t calCount);
template <typename T> void Duplicate(const LocalTensor<T> &dst, const T &scalar, const int32_t &count);
template <typename T1, typename T2>
void Cast(const LocalTensor<T1> &dst, const LocalTensor<T2> &src, const RoundMode &roundMode, const uint32_t count);
template <typename T>
void ReduceSum(const LocalTensor<T> &dst, const LocalTensor<T> &src, const LocalTensor<T> &sharedTmpBuffer,
               const int32_t count);
template <typename T>
void ReduceMax(const LocalTensor<T> &dst, const LocalTensor<T> &src, const LocalTensor<T> &sharedTmpBuffer,
               const int32_t count, bool calIndex = false);

// ---- synchronization and caches ----------------------------------------------------------------------------

template <pipe_t pipe> void PipeBarrier();
template <uint8_t modeId, pipe_t pipe> void CrossCoreSetFlag(uint16_t flagId);
void CrossCoreWaitFlag(uint16_t flagId);
template <typename T, CacheLine entireType, DcciDst dcciDst> void DataCacheCleanAndInvalid(const GlobalTensor<T> &dst);

} // namespace AscendC

#define ASCEND_IS_AIC (::AscendC::GetCoreType() == ::AscendC::AIC)
#define ASCEND_IS_AIV (::AscendC::GetCoreType() == ::AscendC::AIV)
