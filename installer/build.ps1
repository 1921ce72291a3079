<#
.SYNOPSIS
    Build the ArcX Windows installer: encoder weights, PyInstaller, frozen self-test, Inno Setup.

.DESCRIPTION
    Run from a PowerShell prompt on a Windows build machine with internet, in a fresh
    virtual environment of a Python that has a lock (3.10-3.14, installer\locks\):

        py -3.12 -m venv .venv-build; .venv-build\Scripts\Activate.ps1
        installer\build.ps1                       # CPU + DirectML → dist\ArcX-<v>-win64-setup.exe
        installer\build.ps1 -Flavour cuda         # CUDA           → dist\ArcX-<v>-win64-cuda-setup.exe

    The packages come from the flavour's lock for that Python, so every build of a version
    ships the same files: installer\locks\win-cpu-directml-py<3.x>.txt (-Flavour cpu) or
    win-cuda-py<3.x>.txt (-Flavour cuda), installed with `pip install --require-hashes
    --only-binary :all: -r`, then ArcX itself with --no-deps. The locks carry PyInstaller
    too (the `build` extra). The CPU + DirectML locks have PyPI's CPU torch and
    onnxruntime-directml (DirectML inference on any DirectX 12 GPU); on Python 3.10-3.12
    also torch-directml 0.2.5 with the torch 2.4.1 it pins (DirectML training). The CUDA
    locks have torch from https://download.pytorch.org/whl/cu128 (named in the lock) and
    onnxruntime-gpu. Another ONNX Runtime package already in the environment is removed
    first: they all install the same `onnxruntime` module.
    No lock for this flavour and Python: the build stops and says which Pythons have one.
    Refresh the locks with `python installer\locks.py` after changing pyproject.toml.

    Steps, in order; any failure stops the build:
      1. read the version from app\__init__.py (the only place it is written);
      2. installer\fetch_weights.py: models\encoder_resnet34.safetensors (downloads once);
      3. PyInstaller (arcx.spec) → dist\<flavour>\ArcX\;
      4. the frozen self-test: dist\<flavour>\ArcX\arcx-console.exe --self-test, with a fresh
         empty ARCX_HOME so it sees what a first start sees;
      5. the VC++ runtime installer (downloaded once into build\redist, signature checked);
      6. Inno Setup (installer\arcx.iss) with /DMyAppVersion=<version>.

.PARAMETER Flavour
    cpu (CPU + DirectML, the default) or cuda.
.PARAMETER Python
    The Python of the build environment (default: python on PATH).
.PARAMETER Iscc
    Path of ISCC.exe (default: on PATH or in the usual Inno Setup 6 folders).
.PARAMETER NoVCRedist
    Do not bundle the VC++ runtime installer.
.PARAMETER SpanDisks
    Split the setup into Setup-*.bin slices (Inno Setup needs it above 4.2 GB compressed).
#>
[CmdletBinding()]
param(
    [ValidateSet("cpu", "cuda")] [string] $Flavour = "cpu",
    [string] $Python = "python",
    [string] $Iscc = "",
    [switch] $NoVCRedist,
    [switch] $SpanDisks
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Root = Split-Path -Parent $PSScriptRoot
Set-Location $Root
$VCRedistUrl = "https://aka.ms/vs/17/release/vc_redist.x64.exe"   # Microsoft's permalink, 2015-2022 runtime

function Invoke-Native {
    # Run a program; throw with its name when it exits non-zero (PowerShell does not).
    param([string] $What, [string] $Exe, [string[]] $Arguments)
    Write-Host "build.ps1: $What" -ForegroundColor Cyan
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)" }
}

function Find-Iscc {
    if ($Iscc) { return $Iscc }
    $cmd = Get-Command iscc.exe -ErrorAction SilentlyContinue
    if ($cmd) { return $cmd.Source }
    $candidates = @(
        "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe",
        "$env:ProgramFiles\Inno Setup 6\ISCC.exe",
        "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe"
    )
    foreach ($c in $candidates) { if (Test-Path $c) { return $c } }
    throw "ISCC.exe (Inno Setup 6.3+) not found: install it (winget install JRSoftware.InnoSetup) or pass -Iscc"
}

$started = Get-Date

# 1. Version: app\__init__.py only. Windows file versions want four numbers.
$Version = (& $Python -c "import app; print(app.__version__)").Trim()
if ($LASTEXITCODE -ne 0 -or -not $Version) { throw "cannot import app with $Python (run from the repository, deps installed?)" }
$nums = @([regex]::Matches(($Version -split "[^0-9.]")[0], "\d+") | ForEach-Object { $_.Value })
while ($nums.Count -lt 4) { $nums += "0" }
$NumericVersion = ($nums[0..3] -join ".")
# The locked packages for this flavour and Python (installer\locks.py writes them).
$LockFlavours = @{ cpu = "cpu-directml"; cuda = "cuda" }
$PyVer = (& $Python -c "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')").Trim()
$Lock = "installer\locks\win-$($LockFlavours[$Flavour])-py$PyVer.txt"
if (-not (Test-Path $Lock)) {
    $have = @(Get-ChildItem "installer\locks\win-$($LockFlavours[$Flavour])-py*.txt" -ErrorAction SilentlyContinue |
        ForEach-Object { $_.BaseName -replace '^.*-py', '' })
    $which = if ($have.Count) { "Python " + ($have -join ", ") } else { "no Python yet" }
    throw ("no $Flavour lock for Python $PyVer ($Lock): this flavour is locked for $which. " +
        "Build with one of those (py -3.X -m venv ...), or make the lock with " +
        "'python installer\locks.py --flavour $($LockFlavours[$Flavour]) --python $PyVer' on a machine " +
        "that reaches its package index.")
}
$LockText = Get-Content -Raw $Lock
$OrtDists = @("onnxruntime", "onnxruntime-directml", "onnxruntime-gpu")
$OrtLocked = @($OrtDists | Where-Object { $LockText -match "(?m)^$([regex]::Escape($_))==" })
if ($OrtLocked.Count -ne 1) { throw "$Lock must pin exactly one of $($OrtDists -join ', ') (has: $($OrtLocked -join ', '))" }
# Every ONNX Runtime package installs the same `onnxruntime` module: drop the others first.
$ErrorActionPreference = "Continue"
& $Python -m pip uninstall -y @($OrtDists | Where-Object { $_ -ne $OrtLocked[0] }) 2>$null | Out-Null
$ErrorActionPreference = "Stop"
Invoke-Native "locked packages ($Lock)" $Python @("-m", "pip", "install", "--require-hashes", "--only-binary", ":all:", "-r", $Lock)
# No build isolation: the lock's setuptools builds it, nothing unlocked is downloaded.
Invoke-Native "ArcX itself (no deps: the lock has them)" $Python @("-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e", ".")
$TorchCuda = (& $Python -c "import torch; print(torch.version.cuda)").Trim()
Write-Host "build.ps1: ArcX $Version ($NumericVersion), flavour $Flavour, torch CUDA: $TorchCuda"
if ($Flavour -eq "cpu" -and $TorchCuda -ne "None") {
    throw "the CPU flavour needs the CPU build of torch (PyPI's Windows wheel); this one is built for CUDA $TorchCuda"
}
if ($Flavour -eq "cuda" -and $TorchCuda -eq "None") {
    throw "the CUDA flavour needs a CUDA build of torch ($Lock should have installed one)"
}
# What the lock promised: the ONNX Runtime provider of the flavour, and DirectML training
# where torch-directml is locked (Python 3.10-3.12).
$Providers = (& $Python -c "import onnxruntime as o; print(','.join(o.get_available_providers()))").Trim()
if ($LASTEXITCODE -ne 0) { throw "onnxruntime does not import after installing $Lock" }
$WantProvider = if ($Flavour -eq "cuda") { "CUDAExecutionProvider" } else { "DmlExecutionProvider" }
if (($Providers -split ",") -notcontains $WantProvider) {
    throw "onnxruntime has no $WantProvider (it has: $Providers): is another ONNX Runtime package still installed?"
}
Write-Host "build.ps1: ONNX Runtime providers: $Providers"
if ($LockText -match "(?m)^torch-directml==") {
    # Installed is what the spec needs to bundle it; whether it runs on this machine's GPU
    # (a build machine may have none) is not the question here.
    $hasDml = (& $Python -c "import importlib.util as u; print(u.find_spec('torch_directml') is not None)").Trim()
    if ($hasDml -ne "True") { throw "torch-directml is in $Lock but not installed: DirectML training would be missing" }
} elseif ($Flavour -eq "cpu") {
    Write-Host "build.ps1: no torch-directml for Python $PyVer (wheels for 3.10-3.12 only): training runs on the CPU; inference uses DirectML through ONNX Runtime"
}

# 2. Encoder weights (downloads once; verifies an existing file).
Invoke-Native "encoder weights" $Python @("installer\fetch_weights.py")

# 3. PyInstaller.
# The spec's options go by environment variables: Windows PowerShell may drop a bare "--".
$pyiStart = Get-Date
$env:ARCX_FLAVOUR = $Flavour
$env:ARCX_REQUIRE_WEIGHTS = "1"
try {
    Invoke-Native "PyInstaller" $Python @(
        "-m", "PyInstaller", "arcx.spec", "--noconfirm",
        "--distpath", "dist\$Flavour", "--workpath", "build\pyinstaller-$Flavour"
    )
} finally {
    Remove-Item Env:\ARCX_FLAVOUR, Env:\ARCX_REQUIRE_WEIGHTS
}
$pyiSeconds = [int]((Get-Date) - $pyiStart).TotalSeconds
$Bundle = "dist\$Flavour\ArcX"

# 4. Smoke test the frozen app (the console executable: the windowed one cannot print).
$smokeHome = Join-Path ([IO.Path]::GetTempPath()) ("arcx-smoke-" + [guid]::NewGuid())
New-Item -ItemType Directory -Path $smokeHome | Out-Null
$env:ARCX_HOME = $smokeHome
try {
    Invoke-Native "frozen self-test" "$Bundle\arcx-console.exe" @("--self-test")
} finally {
    Remove-Item Env:\ARCX_HOME
    Remove-Item -Recurse -Force $smokeHome -ErrorAction SilentlyContinue
}

# 5. VC++ runtime installer, bundled and run by the setup only where it is missing or old.
$isccArgs = @(
    "/DMyAppVersion=$Version", "/DMyAppNumericVersion=$NumericVersion", "/DFlavour=$Flavour",
    "/DDistDir=$Root\$Bundle", "/DOutputDir=$Root\dist"
)
if (-not $NoVCRedist) {
    $Redist = "$Root\build\redist\vc_redist.x64.exe"
    if (-not (Test-Path $Redist)) {
        New-Item -ItemType Directory -Force -Path (Split-Path $Redist) | Out-Null
        Write-Host "build.ps1: downloading $VCRedistUrl"
        Invoke-WebRequest -Uri $VCRedistUrl -OutFile $Redist -UseBasicParsing
    }
    $sig = Get-AuthenticodeSignature $Redist
    if ($sig.Status -ne "Valid" -or $sig.SignerCertificate.Subject -notmatch "O=Microsoft Corporation") {
        Remove-Item $Redist
        throw "vc_redist.x64.exe is not validly signed by Microsoft ($($sig.Status)); deleted, run again"
    }
    $isccArgs += "/DVCRedistPath=$Redist"
}
if ($SpanDisks) { $isccArgs += "/DSpanDisks" }

# 6. Inno Setup.
Invoke-Native "Inno Setup" (Find-Iscc) ($isccArgs + @("installer\arcx.iss"))

$suffix = if ($Flavour -eq "cuda") { "-cuda" } else { "" }
$Setup = "dist\ArcX-$Version-win64$suffix-setup.exe"
if (-not (Test-Path $Setup)) { throw "Inno Setup finished but $Setup is missing" }
$bundleBytes = (Get-ChildItem -Recurse -File $Bundle | Measure-Object -Sum Length).Sum
$setupBytes = (Get-Item $Setup).Length
$totalSeconds = [int]((Get-Date) - $started).TotalSeconds
Write-Host ("build.ps1: {0}: {1:N0} MiB (bundle {2:N0} MiB); PyInstaller {3} s, all steps {4} s" -f `
    $Setup, ($setupBytes / 1MB), ($bundleBytes / 1MB), $pyiSeconds, $totalSeconds) -ForegroundColor Green
