using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace AaLogon
{
    /// <summary>
    /// Makes a missing native library a readable failure. The runtime resolves the
    /// <c>[DllImport]</c> names itself (it has no hook in netstandard2.0); when it cannot, this
    /// class says where the runtime looked — the dllmap of <c>AaLogon.dll.config</c> (mono), the
    /// application's and this assembly's directories, the library path variable and the system
    /// library path — with what is, or is not, at each place.
    /// </summary>
    internal static class LibraryLoader
    {
        private static int _loaded;

        /// <summary>
        /// Loads libaa_logon on first use; throws a <see cref="DllNotFoundException"/> naming the
        /// places looked at when it cannot be loaded.
        /// </summary>
        internal static void EnsureLoaded()
        {
            if (Volatile.Read(ref _loaded) != 0)
            {
                return;
            }
            try
            {
                NativeMethods.aa_version();
            }
            catch (DllNotFoundException e)
            {
                throw new DllNotFoundException(Describe(NativeMethods.Library,
                    "Build it with `cargo build --release -p libaa-logon`, install it with scripts/install.sh, " +
                    "or ship it next to the application.", e), e);
            }
            Volatile.Write(ref _loaded, 1);
        }

        /// <summary>
        /// Why <paramref name="name"/> (a DllImport name) could not be loaded: every place the
        /// runtime looks, in order, with what is there.
        /// </summary>
        internal static string Describe(string name, string advice, Exception cause)
        {
            string file = FileName(name);
            var places = new List<string>();
            string assemblyPath = typeof(LibraryLoader).Assembly.Location;
            string assemblyDir = string.IsNullOrEmpty(assemblyPath) ? null : Path.GetDirectoryName(assemblyPath);
            if (IsMono && !string.IsNullOrEmpty(assemblyPath))
            {
                places.Add("a <dllmap dll=\"" + name + "\"> in " + DllMap(assemblyPath + ".config", name));
            }
            string appDir = AppDomain.CurrentDomain.BaseDirectory;
            places.Add("next to the application: " + Probe(appDir, file));
            if (assemblyDir != null && !SameDirectory(assemblyDir, appDir))
            {
                places.Add("next to " + Path.GetFileName(assemblyPath) + ": " + Probe(assemblyDir, file));
            }
            string variable = PathVariable;
            string value = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(value))
            {
                places.Add("the directories of $" + variable + ": not set");
            }
            else
            {
                foreach (string dir in value.Split(Path.PathSeparator))
                {
                    if (dir.Length > 0)
                    {
                        places.Add("$" + variable + ": " + Probe(dir, file));
                    }
                }
            }
            places.Add(IsWindows
                ? "the system directories (System32, Windows)"
                : "the system library path (the ld.so cache of ldconfig, /lib, /usr/lib; /usr/local/lib on macOS)");
            return "Cannot load the native library " + file + " (DllImport \"" + name + "\"). The runtime looks in " +
                   "these places, in this order:\n  - " + string.Join("\n  - ", places) + "\n" + advice +
                   "\nThe runtime's own error: " + cause.Message;
        }

        private static bool IsMono
        {
            get { return Type.GetType("Mono.Runtime") != null; }
        }

        private static bool IsWindows
        {
            get { return Path.DirectorySeparatorChar == '\\'; }
        }

        private static bool IsMac
        {
            get { return !IsWindows && Directory.Exists("/System/Library/CoreServices"); }
        }

        private static string PathVariable
        {
            get { return IsWindows ? "PATH" : IsMac ? "DYLD_LIBRARY_PATH" : "LD_LIBRARY_PATH"; }
        }

        /// <summary>The platform's file name of a DllImport name: libx.so, x.dll, libx.dylib.</summary>
        internal static string FileName(string name)
        {
            return IsWindows ? name + ".dll" : IsMac ? "lib" + name + ".dylib" : "lib" + name + ".so";
        }

        private static string Probe(string dir, string file)
        {
            string path;
            try
            {
                path = Path.Combine(dir, file);
            }
            catch (ArgumentException)
            {
                return dir + ": not a usable directory name";
            }
            return File.Exists(path)
                ? path + ": the file exists but did not load (wrong architecture, a missing dependency, no read permission?)"
                : path + ": no such file";
        }

        private static bool SameDirectory(string a, string b)
        {
            char[] separators = { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar };
            return string.Equals(a.TrimEnd(separators), b.TrimEnd(separators), StringComparison.Ordinal);
        }

        /// <summary>What the mono config file next to the assembly maps <paramref name="name"/> to.</summary>
        private static string DllMap(string config, string name)
        {
            if (!File.Exists(config))
            {
                return config + ": no such file";
            }
            string text;
            try
            {
                text = File.ReadAllText(config);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return config + ": unreadable (" + e.Message + ")";
            }
            string key = "dll=\"" + name + "\"";
            int at = text.IndexOf(key, StringComparison.Ordinal);
            if (at < 0)
            {
                return config + ": no entry for it";
            }
            int target = text.IndexOf("target=\"", at, StringComparison.Ordinal);
            int end = target < 0 ? -1 : text.IndexOf('"', target + 8);
            if (end < 0)
            {
                return config + ": an entry without a target";
            }
            string mapped = text.Substring(target + 8, end - target - 8);
            return config + ": maps it to " + mapped + (File.Exists(mapped) ? " (exists but did not load)" : " (no such file)");
        }
    }
}
