using System;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AaLogon
{
    /// <summary>
    /// A library handle the binding owns: released once with its type's <c>aa_*_free</c>. The
    /// subclasses are created by the P/Invoke marshaller for <c>out</c> parameters, through their
    /// implicit parameterless constructor.
    /// </summary>
    internal abstract class NativeHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        protected NativeHandle() : base(true)
        {
        }

        protected sealed override bool ReleaseHandle()
        {
            return Free(handle) == AaStatus.Ok;
        }

        /// <summary>Calls the <c>aa_*_free</c> function of this handle's type.</summary>
        protected abstract AaStatus Free(IntPtr value);
    }

    /// <summary>An <c>aa_client_options *</c>; released with <c>aa_client_options_free</c>.</summary>
    internal sealed class ClientOptionsHandle : NativeHandle
    {
        protected override AaStatus Free(IntPtr value)
        {
            return NativeMethods.aa_client_options_free(value);
        }
    }

    /// <summary>An <c>aa_client *</c>; released with <c>aa_client_free</c>.</summary>
    internal sealed class ClientHandle : NativeHandle
    {
        protected override AaStatus Free(IntPtr value)
        {
            return NativeMethods.aa_client_free(value);
        }
    }

    /// <summary>An <c>aa_logon *</c>; released with <c>aa_logon_free</c>.</summary>
    internal sealed class LogonHandle : NativeHandle
    {
        protected override AaStatus Free(IntPtr value)
        {
            return NativeMethods.aa_logon_free(value);
        }
    }

    /// <summary>
    /// An <c>aa_error *</c>; released with <c>aa_error_free</c>. Errors come back as a raw pointer
    /// (most calls succeed, and a SafeHandle per call would cost an allocation and a finalizer) and
    /// are wrapped right after the failing call.
    /// </summary>
    internal sealed class ErrorHandle : NativeHandle
    {
        internal ErrorHandle(IntPtr error)
        {
            SetHandle(error);
        }

        protected override AaStatus Free(IntPtr value)
        {
            return NativeMethods.aa_error_free(value);
        }
    }

    /// <summary>An <c>aa_virtual_key *</c> of libaa_logon_testkit; released with <c>aa_virtual_key_free</c>.</summary>
    internal sealed class VirtualKeyHandle : NativeHandle
    {
        protected override AaStatus Free(IntPtr value)
        {
            return NativeMethods.aa_virtual_key_free(value);
        }
    }

    /// <summary>An <c>aa_virtual_devices *</c> of libaa_logon_testkit; released with <c>aa_virtual_devices_free</c>.</summary>
    internal sealed class VirtualDevicesHandle : NativeHandle
    {
        protected override AaStatus Free(IntPtr value)
        {
            return NativeMethods.aa_virtual_devices_free(value);
        }
    }

    /// <summary>Checks on a handle before each use.</summary>
    internal static class NativeHandleExtensions
    {
        /// <summary>
        /// <paramref name="handle"/> itself, or an <see cref="ObjectDisposedException"/> naming
        /// <paramref name="owner"/> once the public object that owns it was disposed.
        /// </summary>
        internal static T OrDisposed<T>(this T handle, string owner) where T : SafeHandle
        {
            if (handle.IsClosed)
            {
                throw new ObjectDisposedException(owner);
            }
            return handle;
        }
    }
}
