using System;
using Microsoft.Win32.SafeHandles;

namespace AaLogon
{
    /// <summary>An <c>aa_client_options *</c>; released with <c>aa_client_options_free</c>.</summary>
    internal sealed class ClientOptionsHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private ClientOptionsHandle() : base(true)
        {
        }

        protected override bool ReleaseHandle()
        {
            return NativeMethods.aa_client_options_free(handle) == NativeMethods.StatusOk;
        }
    }

    /// <summary>An <c>aa_client *</c>; released with <c>aa_client_free</c>.</summary>
    internal sealed class ClientHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private ClientHandle() : base(true)
        {
        }

        protected override bool ReleaseHandle()
        {
            return NativeMethods.aa_client_free(handle) == NativeMethods.StatusOk;
        }
    }

    /// <summary>An <c>aa_logon *</c>; released with <c>aa_logon_free</c>.</summary>
    internal sealed class LogonHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private LogonHandle() : base(true)
        {
        }

        protected override bool ReleaseHandle()
        {
            return NativeMethods.aa_logon_free(handle) == NativeMethods.StatusOk;
        }
    }

    /// <summary>
    /// An <c>aa_error *</c>; released with <c>aa_error_free</c>. Errors come back as a raw pointer
    /// (most calls succeed, and a SafeHandle per call would cost an allocation and a finalizer) and
    /// are wrapped right after the failing call.
    /// </summary>
    internal sealed class ErrorHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private ErrorHandle() : base(true)
        {
        }

        internal ErrorHandle(IntPtr error) : base(true)
        {
            SetHandle(error);
        }

        protected override bool ReleaseHandle()
        {
            return NativeMethods.aa_error_free(handle) == NativeMethods.StatusOk;
        }
    }

    /// <summary>An <c>aa_virtual_key *</c> (test-only); released with <c>aa_virtual_key_free</c>.</summary>
    internal sealed class VirtualKeyHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private VirtualKeyHandle() : base(true)
        {
        }

        protected override bool ReleaseHandle()
        {
            return NativeMethods.aa_virtual_key_free(handle) == NativeMethods.StatusOk;
        }
    }
}
