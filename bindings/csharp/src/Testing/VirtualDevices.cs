using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace AaLogon.Testing
{
    /// <summary>
    /// A set of plugged-in <see cref="VirtualKey"/>s that clients reach as their security keys,
    /// either directly (<see cref="AttachTo"/>) or through a <see cref="HidTransport"/> of one's
    /// own wrapped around <see cref="CreateHidTransport"/> (to record, delay or corrupt reports).
    /// Thread-safe. <see cref="VirtualKey.AttachTo"/> makes such a set for a client by itself; use
    /// this class when several clients should share one set, or to stand between client and keys.
    /// </summary>
    public sealed class VirtualDevices : IDisposable
    {
        private readonly VirtualDevicesHandle _handle;

        /// <summary>Creates an empty set.</summary>
        /// <exception cref="NotSupportedException">libaa_logon_testkit cannot be loaded.</exception>
        public VirtualDevices()
        {
            VirtualDevicesHandle devices = null;
            AaStatus status = Testkit.Call(() => NativeMethods.aa_virtual_devices_new(out devices));
            if (status != AaStatus.Ok && devices != null)
            {
                devices.Dispose();
            }
            Testkit.Check(status);
            _handle = devices;
        }

        private VirtualDevicesHandle Handle
        {
            get { return _handle.OrDisposed(nameof(VirtualDevices)); }
        }

        /// <summary>Plugs <paramref name="key"/> in: it appears in the next device listing. A key unplugged earlier is plugged back in.</summary>
        /// <exception cref="MisuseException">The key is plugged into this set already (<see cref="AaStatus.InvalidState"/>).</exception>
        public void Plug(VirtualKey key)
        {
            if (key == null)
            {
                throw new ArgumentNullException(nameof(key));
            }
            VirtualDevicesHandle handle = Handle;
            VirtualKeyHandle keyHandle = key.Handle;
            Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_devices_plug(handle, keyHandle)));
        }

        /// <summary>Unplugs <paramref name="key"/>, as if pulled out of the USB port (also in the middle of an exchange).</summary>
        /// <exception cref="MisuseException">The key is not plugged into this set (<see cref="AaStatus.InvalidState"/>).</exception>
        public void Unplug(VirtualKey key)
        {
            if (key == null)
            {
                throw new ArgumentNullException(nameof(key));
            }
            VirtualDevicesHandle handle = Handle;
            VirtualKeyHandle keyHandle = key.Handle;
            Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_devices_unplug(handle, keyHandle)));
        }

        /// <summary>
        /// Makes <paramref name="client"/> reach the keys of this set instead of USB devices (or
        /// the transport set before); <see cref="VirtualKey.AttachTo"/> then plugs keys into this set.
        /// The client keeps the set alive, so it may be disposed before the client.
        /// </summary>
        public void AttachTo(AaClient client)
        {
            if (client == null)
            {
                throw new ArgumentNullException(nameof(client));
            }
            client.UseVirtualDevices(this);
        }

        /// <summary>
        /// The keys of this set as a <see cref="HidTransport"/>, calling the testkit's own HID
        /// functions: wrap it in a transport of your own and give that to
        /// <see cref="AaClient.SetHidTransport"/> to see or change every report between a client
        /// and the keys. Each call makes a new transport; it keeps the set alive until it is
        /// collected.
        /// </summary>
        public HidTransport CreateHidTransport()
        {
            return new NativeHidTransport(NewIo());
        }

        /// <summary>Frees the handle; clients and transports made from the set keep reaching its keys.</summary>
        public void Dispose()
        {
            _handle.Dispose();
        }

        /// <summary>Switches <paramref name="client"/> to a new io of this set.</summary>
        internal void SetOn(ClientHandle client)
        {
            NativeMethods.aa_hid_io io = NewIo();
            IntPtr error;
            AaStatus status = NativeMethods.aa_client_set_hid_io(client, ref io, out error);
            if (status != AaStatus.Ok && status != AaStatus.Panic)
            {
                Release(io); // not taken over by libaa_logon, so never released by it
            }
            Interop.Check(status, error);
        }

        private NativeMethods.aa_hid_io NewIo()
        {
            VirtualDevicesHandle handle = Handle;
            var io = default(NativeMethods.aa_hid_io);
            Testkit.Check(Testkit.Call(() => NativeMethods.aa_virtual_devices_hid_io(handle, out io)));
            return io;
        }

        internal static void Release(NativeMethods.aa_hid_io io)
        {
            if (io.release != IntPtr.Zero)
            {
                Function<NativeMethods.aa_hid_release_fn>(io.release)(io.userdata);
            }
        }

        internal static T Function<T>(IntPtr pointer) where T : class
        {
            return (T)(object)Marshal.GetDelegateForFunctionPointer(pointer, typeof(T));
        }
    }

    /// <summary>
    /// A native <c>aa_hid_io</c> (the testkit's) as a <see cref="HidTransport"/>: each method calls
    /// the io's function. The io is released when this object is collected, so no client can still
    /// be using it through a wrapper then.
    /// </summary>
    internal sealed class NativeHidTransport : HidTransport
    {
        private static readonly NativeMethods.aa_hid_device_sink SinkFn = OnDevice;

        private readonly NativeMethods.aa_hid_io _io;
        private readonly NativeMethods.aa_hid_enumerate_fn _enumerate;
        private readonly NativeMethods.aa_hid_open_fn _open;
        private readonly NativeMethods.aa_hid_close_fn _close;
        private readonly NativeMethods.aa_hid_write_fn _write;
        private readonly NativeMethods.aa_hid_read_fn _read;

        internal NativeHidTransport(NativeMethods.aa_hid_io io)
        {
            _io = io;
            _enumerate = VirtualDevices.Function<NativeMethods.aa_hid_enumerate_fn>(io.enumerate);
            _open = VirtualDevices.Function<NativeMethods.aa_hid_open_fn>(io.open);
            _close = VirtualDevices.Function<NativeMethods.aa_hid_close_fn>(io.close);
            _write = VirtualDevices.Function<NativeMethods.aa_hid_write_fn>(io.write);
            _read = VirtualDevices.Function<NativeMethods.aa_hid_read_fn>(io.read);
        }

        ~NativeHidTransport()
        {
            VirtualDevices.Release(_io);
        }

        public override IEnumerable<DeviceInfo> Enumerate()
        {
            var found = new List<DeviceInfo>();
            GCHandle list = GCHandle.Alloc(found);
            int result;
            try
            {
                result = _enumerate(_io.userdata, SinkFn, GCHandle.ToIntPtr(list));
            }
            finally
            {
                list.Free();
            }
            GC.KeepAlive(this);
            if (result != 0)
            {
                throw new IOException("The native enumerate function failed (" + result + ").");
            }
            return found;
        }

        public override object Open(string path)
        {
            var strings = new List<IntPtr>(1);
            try
            {
                IntPtr device = _open(_io.userdata, HidTransportBridge.Allocate(path, nameof(path), strings));
                return device == IntPtr.Zero ? null : new NativeDevice(device);
            }
            finally
            {
                foreach (IntPtr allocated in strings)
                {
                    Marshal.FreeHGlobal(allocated);
                }
                GC.KeepAlive(this);
            }
        }

        public override void Close(object device)
        {
            _close(_io.userdata, ((NativeDevice)device).Pointer);
            GC.KeepAlive(this);
        }

        public override void Write(object device, byte[] report)
        {
            GCHandle pinned = GCHandle.Alloc(report, GCHandleType.Pinned);
            int result;
            try
            {
                result = _write(_io.userdata, ((NativeDevice)device).Pointer, pinned.AddrOfPinnedObject(),
                    new UIntPtr((uint)report.Length));
            }
            finally
            {
                pinned.Free();
                GC.KeepAlive(this);
            }
            if (result != 0)
            {
                throw new IOException("The native write function failed (" + result + ").");
            }
        }

        public override int Read(object device, byte[] report, int timeoutMilliseconds)
        {
            GCHandle pinned = GCHandle.Alloc(report, GCHandleType.Pinned);
            int result;
            try
            {
                result = _read(_io.userdata, ((NativeDevice)device).Pointer, pinned.AddrOfPinnedObject(),
                    new UIntPtr((uint)report.Length), timeoutMilliseconds);
            }
            finally
            {
                pinned.Free();
                GC.KeepAlive(this);
            }
            if (result < 0)
            {
                throw new IOException("The native read function failed (" + result + ").");
            }
            return result;
        }

        /// <summary>The sink given to the native enumerate function: collects each device into the list behind <paramref name="list"/>.</summary>
        private static AaStatus OnDevice(IntPtr list, ref NativeMethods.aa_hid_device_info device)
        {
            try
            {
                var found = (List<DeviceInfo>)GCHandle.FromIntPtr(list).Target;
                string path = Utf8.Copy(device.path);
                if (string.IsNullOrEmpty(path))
                {
                    return AaStatus.InvalidArgument;
                }
                found.Add(new DeviceInfo(path, device.vendor_id, device.product_id, Utf8.Copy(device.manufacturer),
                    Utf8.Copy(device.product), Utf8.Copy(device.serial_number)));
                return AaStatus.Ok;
            }
            catch
            {
                // Called from native code: nothing may propagate.
                return AaStatus.InvalidArgument;
            }
        }

        private sealed class NativeDevice
        {
            internal NativeDevice(IntPtr pointer)
            {
                Pointer = pointer;
            }

            internal IntPtr Pointer { get; }
        }
    }
}
