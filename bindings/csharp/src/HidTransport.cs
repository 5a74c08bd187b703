using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;

namespace AaLogon
{
    /// <summary>
    /// A source of FIDO security keys implemented in C#: give it to
    /// <see cref="AaClient.SetHidTransport"/> and the client lists, opens, writes to and reads
    /// from its keys through these methods instead of the operating system's USB HID devices
    /// (a remote-HID bridge, a recorded-wire replay, a key behind another API, a test double).
    /// The whole FIDO stack — CTAPHID, U2F, the sign flow — runs over it unchanged.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The library calls the methods from the threads that call into it with the client (a sign,
    /// a device listing), possibly from several threads at once for different devices: they must
    /// be thread-safe. One open device is used by one thread at a time.
    /// </para>
    /// <para>
    /// An exception thrown by a method never reaches the library: it is turned into the failure
    /// the C API expects (the enumeration or open fails, the device is treated as gone) and kept
    /// in <see cref="LastFailure"/>.
    /// </para>
    /// <para>
    /// The transport stays reachable from native code until the library releases it (when
    /// neither the client nor any of its logons or open devices uses it any more, e.g. after
    /// <see cref="AaClient.SetHidTransport"/> with another transport and the disposal of the
    /// client's logons); <see cref="OnReleased"/> is then called, once per
    /// <see cref="AaClient.SetHidTransport"/> call.
    /// </para>
    /// </remarks>
    public abstract class HidTransport
    {
        /// <summary>The size of every report given to <see cref="Write"/> and <see cref="Read"/>: one CTAPHID packet without the report-id byte.</summary>
        public const int ReportLength = NativeMethods.AA_HID_REPORT_LEN;

        private Exception _lastFailure;
        private long _failures;

        /// <summary>The FIDO devices present now. Each <see cref="DeviceInfo.Path"/> is what <see cref="Open"/> accepts, unique and non-empty.</summary>
        public abstract IEnumerable<DeviceInfo> Enumerate();

        /// <summary>
        /// Opens the device at <paramref name="path"/> (as enumerated) for exclusive use and
        /// returns an object of the transport's choosing that stands for it in the other calls,
        /// or null when it cannot be opened.
        /// </summary>
        public abstract object Open(string path);

        /// <summary>Closes a device returned by <see cref="Open"/>; called exactly once per successful open.</summary>
        public abstract void Close(object device);

        /// <summary>
        /// Sends one report of <see cref="ReportLength"/> bytes to <paramref name="device"/>.
        /// Throw on failure: the device is then treated as gone. <paramref name="report"/> is the
        /// transport's to keep.
        /// </summary>
        public abstract void Write(object device, byte[] report);

        /// <summary>
        /// Waits up to <paramref name="timeoutMilliseconds"/> for one report from
        /// <paramref name="device"/> and copies it into <paramref name="report"/>
        /// (<see cref="ReportLength"/> bytes of room, zeroed). Returns the number of bytes copied
        /// (1 to <see cref="ReportLength"/>; shorter reports are zero-padded), or 0 when the time
        /// passed without a report. Throw (or return a negative number) on failure.
        /// </summary>
        public abstract int Read(object device, byte[] report, int timeoutMilliseconds);

        /// <summary>
        /// Called when a client (and its logons) no longer use this transport: once per
        /// <see cref="AaClient.SetHidTransport"/> call that installed it. Does nothing unless overridden.
        /// </summary>
        protected virtual void OnReleased()
        {
        }

        /// <summary>The last exception a method of this transport threw (and the library never saw), or null.</summary>
        public Exception LastFailure
        {
            get { return Volatile.Read(ref _lastFailure); }
        }

        /// <summary>How many exceptions the methods of this transport threw so far.</summary>
        public long Failures
        {
            get { return Interlocked.Read(ref _failures); }
        }

        internal void RecordFailure(Exception e)
        {
            Volatile.Write(ref _lastFailure, e);
            Interlocked.Increment(ref _failures);
        }

        internal void NotifyReleased()
        {
            try
            {
                OnReleased();
            }
            catch (Exception e)
            {
                RecordFailure(e);
            }
        }
    }

    /// <summary>
    /// Marshals a <see cref="HidTransport"/> into the <c>aa_hid_io</c> of the C API. The function
    /// pointers are static trampolines (their delegates live as long as the process, so the
    /// library can never call a collected one); each registration's state — the transport — is
    /// reached through the io's userdata, a <see cref="GCHandle"/> held until the library's
    /// release call. Each open device is a <see cref="GCHandle"/> of its own until close.
    /// </summary>
    internal static class HidTransportBridge
    {
        private static readonly NativeMethods.aa_hid_enumerate_fn EnumerateFn = OnEnumerate;
        private static readonly NativeMethods.aa_hid_open_fn OpenFn = OnOpen;
        private static readonly NativeMethods.aa_hid_close_fn CloseFn = OnClose;
        private static readonly NativeMethods.aa_hid_write_fn WriteFn = OnWrite;
        private static readonly NativeMethods.aa_hid_read_fn ReadFn = OnRead;
        private static readonly NativeMethods.aa_hid_release_fn ReleaseFn = OnRelease;

        private static readonly IntPtr EnumeratePtr = Marshal.GetFunctionPointerForDelegate(EnumerateFn);
        private static readonly IntPtr OpenPtr = Marshal.GetFunctionPointerForDelegate(OpenFn);
        private static readonly IntPtr ClosePtr = Marshal.GetFunctionPointerForDelegate(CloseFn);
        private static readonly IntPtr WritePtr = Marshal.GetFunctionPointerForDelegate(WriteFn);
        private static readonly IntPtr ReadPtr = Marshal.GetFunctionPointerForDelegate(ReadFn);
        private static readonly IntPtr ReleasePtr = Marshal.GetFunctionPointerForDelegate(ReleaseFn);

        /// <summary>A new io for <paramref name="transport"/>; its userdata is held until <see cref="OnRelease"/> (or <see cref="Abandon"/>).</summary>
        internal static NativeMethods.aa_hid_io Register(HidTransport transport)
        {
            GCHandle state = GCHandle.Alloc(transport);
            return new NativeMethods.aa_hid_io
            {
                userdata = GCHandle.ToIntPtr(state),
                enumerate = EnumeratePtr,
                open = OpenPtr,
                close = ClosePtr,
                write = WritePtr,
                read = ReadPtr,
                release = ReleasePtr,
            };
        }

        /// <summary>Frees the state of an io the library did not take over (aa_client_set_hid_io failed).</summary>
        internal static void Abandon(NativeMethods.aa_hid_io io)
        {
            GCHandle.FromIntPtr(io.userdata).Free();
        }

        private static HidTransport Transport(IntPtr userdata)
        {
            return (HidTransport)GCHandle.FromIntPtr(userdata).Target;
        }

        // Every trampoline below is called from native code: nothing may propagate out of it.

        private static int OnEnumerate(IntPtr userdata, NativeMethods.aa_hid_device_sink sink, IntPtr list)
        {
            HidTransport transport = null;
            try
            {
                transport = Transport(userdata);
                IEnumerable<DeviceInfo> devices = transport.Enumerate();
                if (devices == null)
                {
                    return 0;
                }
                foreach (DeviceInfo device in devices)
                {
                    if (device == null)
                    {
                        throw new InvalidOperationException("Enumerate listed a null device.");
                    }
                    AaStatus added = Add(sink, list, device);
                    if (added != AaStatus.Ok)
                    {
                        throw new InvalidOperationException("The library refused the device \"" + device.Path + "\": " +
                                                            Interop.StatusText(added) + ".");
                    }
                }
                return 0;
            }
            catch (Exception e)
            {
                Record(transport, e);
                return -1;
            }
        }

        /// <summary>Hands one device to the library's sink, its strings as UTF-8 valid for the call.</summary>
        private static AaStatus Add(NativeMethods.aa_hid_device_sink sink, IntPtr list, DeviceInfo device)
        {
            var strings = new List<IntPtr>(4);
            try
            {
                var info = new NativeMethods.aa_hid_device_info
                {
                    path = Allocate(device.Path, "device.Path", strings),
                    vendor_id = checked((ushort)device.VendorId),
                    product_id = checked((ushort)device.ProductId),
                    manufacturer = Allocate(device.Manufacturer, "device.Manufacturer", strings),
                    product = Allocate(device.Product, "device.Product", strings),
                    serial_number = Allocate(device.SerialNumber, "device.SerialNumber", strings),
                };
                return sink(list, ref info);
            }
            finally
            {
                foreach (IntPtr allocated in strings)
                {
                    Marshal.FreeHGlobal(allocated);
                }
            }
        }

        /// <summary>A NUL-terminated UTF-8 copy in unmanaged memory (freed by the caller), or NULL for null.</summary>
        internal static IntPtr Allocate(string value, string name, List<IntPtr> allocated)
        {
            if (value == null)
            {
                return IntPtr.Zero;
            }
            byte[] bytes = Utf8.Encode(value, name);
            IntPtr memory = Marshal.AllocHGlobal(bytes.Length);
            allocated.Add(memory);
            Marshal.Copy(bytes, 0, memory, bytes.Length);
            return memory;
        }

        private static IntPtr OnOpen(IntPtr userdata, IntPtr path)
        {
            HidTransport transport = null;
            try
            {
                transport = Transport(userdata);
                object device = transport.Open(Utf8.Copy(path));
                return device == null ? IntPtr.Zero : GCHandle.ToIntPtr(GCHandle.Alloc(new OpenDevice(device)));
            }
            catch (Exception e)
            {
                Record(transport, e);
                return IntPtr.Zero;
            }
        }

        private static void OnClose(IntPtr userdata, IntPtr device)
        {
            HidTransport transport = null;
            try
            {
                transport = Transport(userdata);
                GCHandle handle = GCHandle.FromIntPtr(device);
                var open = (OpenDevice)handle.Target;
                handle.Free();
                transport.Close(open.Device);
            }
            catch (Exception e)
            {
                Record(transport, e);
            }
        }

        private static int OnWrite(IntPtr userdata, IntPtr device, IntPtr report, UIntPtr len)
        {
            HidTransport transport = null;
            try
            {
                transport = Transport(userdata);
                var open = (OpenDevice)GCHandle.FromIntPtr(device).Target;
                var bytes = new byte[checked((int)len.ToUInt32())];
                Marshal.Copy(report, bytes, 0, bytes.Length);
                transport.Write(open.Device, bytes);
                return 0;
            }
            catch (Exception e)
            {
                Record(transport, e);
                return -1;
            }
        }

        private static int OnRead(IntPtr userdata, IntPtr device, IntPtr report, UIntPtr len, int timeoutMs)
        {
            HidTransport transport = null;
            try
            {
                transport = Transport(userdata);
                var open = (OpenDevice)GCHandle.FromIntPtr(device).Target;
                int room = checked((int)len.ToUInt32());
                byte[] buffer = open.Buffer(room);
                int count = transport.Read(open.Device, buffer, timeoutMs);
                if (count < 0)
                {
                    return -1;
                }
                if (count > room)
                {
                    throw new InvalidOperationException("Read returned " + count + " bytes for a report of " + room + ".");
                }
                if (count > 0)
                {
                    Array.Clear(buffer, count, room - count);
                    Marshal.Copy(buffer, 0, report, room);
                }
                return count;
            }
            catch (Exception e)
            {
                Record(transport, e);
                return -1;
            }
        }

        private static void OnRelease(IntPtr userdata)
        {
            try
            {
                GCHandle state = GCHandle.FromIntPtr(userdata);
                var transport = (HidTransport)state.Target;
                state.Free();
                transport.NotifyReleased();
            }
            catch
            {
                // Only reachable if the runtime itself fails; the library must not see it.
            }
        }

        private static void Record(HidTransport transport, Exception e)
        {
            try
            {
                if (transport != null)
                {
                    transport.RecordFailure(e);
                }
            }
            catch
            {
                // As above.
            }
        }

        /// <summary>One device opened through a transport, reached through the device pointer the library holds.</summary>
        private sealed class OpenDevice
        {
            private byte[] _buffer;

            internal OpenDevice(object device)
            {
                Device = device;
            }

            internal object Device { get; }

            /// <summary>A zeroed read buffer of <paramref name="length"/> bytes, reused (one thread uses an open device at a time).</summary>
            internal byte[] Buffer(int length)
            {
                if (_buffer == null || _buffer.Length != length)
                {
                    _buffer = new byte[length];
                }
                else
                {
                    Array.Clear(_buffer, 0, length);
                }
                return _buffer;
            }
        }
    }
}
