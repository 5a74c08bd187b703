using System;
using System.Runtime.InteropServices;

namespace AaLogon.Testing
{
    /// <summary>
    /// libaa_logon_testkit, the test-only companion library of libaa_logon that provides
    /// <see cref="VirtualKey"/> and <see cref="VirtualDevices"/>. It is built by
    /// <c>cargo build -p aa-logon-testkit</c> (libaa_logon_testkit.so / aa_logon_testkit.dll /
    /// libaa_logon_testkit.dylib), found like libaa_logon, and never shipped: without it every
    /// testing type throws <see cref="NotSupportedException"/>.
    /// </summary>
    public static class Testkit
    {
        /// <summary>Whether libaa_logon_testkit can be loaded.</summary>
        public static bool IsAvailable
        {
            get
            {
                try
                {
                    UIntPtr count;
                    NativeMethods.aa_testkit_live_objects(out count);
                    return true;
                }
                catch (DllNotFoundException)
                {
                    return false;
                }
                catch (EntryPointNotFoundException)
                {
                    return false;
                }
            }
        }

        /// <summary>The number of testkit handles (virtual keys and device sets) not yet freed, for leak checks.</summary>
        /// <exception cref="NotSupportedException">libaa_logon_testkit cannot be loaded.</exception>
        public static ulong LiveObjects
        {
            get
            {
                UIntPtr count = UIntPtr.Zero;
                Check(Call(() => NativeMethods.aa_testkit_live_objects(out count)));
                return count.ToUInt64();
            }
        }

        /// <summary>Runs a testkit call; a missing library becomes a <see cref="NotSupportedException"/> saying where it was looked for.</summary>
        internal static AaStatus Call(Func<AaStatus> call)
        {
            try
            {
                return call();
            }
            catch (DllNotFoundException e)
            {
                throw new NotSupportedException(
                    "Virtual security keys need libaa_logon_testkit, the test-only companion of libaa_logon. " +
                    LibraryLoader.Describe(NativeMethods.TestkitLibrary,
                        "Build it with `cargo build -p aa-logon-testkit` (target/<profile>/" +
                        LibraryLoader.FileName(NativeMethods.TestkitLibrary) + "); it is never shipped.", e), e);
            }
            catch (EntryPointNotFoundException e)
            {
                throw new NotSupportedException(
                    "The loaded aa_logon_testkit library is not the one this binding was generated for: " + e.Message, e);
            }
        }

        /// <summary>Throws the exception for a failed testkit call, with the testkit's message for this thread.</summary>
        internal static void Check(AaStatus status)
        {
            if (status == AaStatus.Ok)
            {
                return;
            }
            string message = LastError();
            if (string.IsNullOrEmpty(message))
            {
                message = Interop.StatusText(status);
            }
            throw AaException.Create(status, message, null, null, null);
        }

        /// <summary>The message of this thread's last failed testkit call.</summary>
        private static string LastError()
        {
            int length = checked((int)NativeMethods.aa_testkit_last_error(IntPtr.Zero, UIntPtr.Zero).ToUInt32());
            if (length == 0)
            {
                return null;
            }
            IntPtr buffer = Marshal.AllocHGlobal(length + 1);
            try
            {
                NativeMethods.aa_testkit_last_error(buffer, new UIntPtr((uint)length + 1));
                return Utf8.Copy(buffer);
            }
            finally
            {
                Marshal.FreeHGlobal(buffer);
            }
        }
    }
}
