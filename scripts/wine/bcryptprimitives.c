/* A stand-in for bcryptprimitives.dll, which Wine 8 lacks.
 *
 * Rust's standard library (1.78 and later) imports ProcessPrng from bcryptprimitives.dll on
 * Windows, so without this DLL no Rust test executable starts under Wine 8 (status
 * c0000135, a missing DLL). This one exports ProcessPrng and fills the buffer from advapi32's
 * RtlGenRandom (exported as SystemFunction036), which Wine has. For tests under Wine only:
 * scripts/windows-test.sh builds it with mingw and puts it in the Wine prefix's system32. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a 32-bit length. */
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
