; ArcX installer: Inno Setup 6.3 or newer (x64compatible needs 6.3).
;
;   iscc /DMyAppVersion=<version> installer\arcx.iss                  CPU + DirectML flavour
;   iscc /DMyAppVersion=<version> /DFlavour=cuda installer\arcx.iss   CUDA flavour
;
; installer\build.ps1 runs this after PyInstaller and the frozen self-test, and passes the
; version read from app\__init__.py (the only place it is written). Optional defines:
;   /DMyAppNumericVersion=1.2.0.0   the four-number file version, when MyAppVersion is not
;                                   plain numbers (1.2.0rc1); build.ps1 passes it
;   /DFlavour=cpu|cuda              which PyInstaller output to package (default cpu)
;   /DDistDir=...                   that output folder (default ..\dist\<flavour>\ArcX)
;   /DOutputDir=...                 where the setup goes (default ..\dist)
;   /DVCRedistPath=...\vc_redist.x64.exe   bundle the VC++ runtime installer (build.ps1 does)
;   /DSpanDisks                     split into Setup-*.bin slices (needed above 4.2 GB compressed)
;
; Result: ArcX-<version>-win64-setup.exe (CUDA: ArcX-<version>-win64-cuda-setup.exe).
; Per-user install without admin rights by default (%LOCALAPPDATA%\Programs\ArcX); the
; first page lets the player choose an install for all users instead (asks for admin).
; The uninstaller removes the program and keeps the player's data (recorded runs, trained
; models, settings, logs in %LOCALAPPDATA%\ArcX) unless they answer Yes to "remove my data".

#ifndef MyAppVersion
  #error Pass the version: iscc /DMyAppVersion=<version> installer\arcx.iss (build.ps1 does)
#endif
#ifndef MyAppNumericVersion
  #define MyAppNumericVersion MyAppVersion
#endif
#ifndef Flavour
  #define Flavour "cpu"
#endif
#if Flavour != "cpu" && Flavour != "cuda"
  #error Flavour must be cpu or cuda
#endif
#ifndef DistDir
  #define DistDir AddBackslash(SourcePath) + "..\dist\" + Flavour + "\ArcX"
#endif
#ifndef OutputDir
  #define OutputDir AddBackslash(SourcePath) + "..\dist"
#endif
#if Flavour == "cuda"
  #define FlavourSuffix "-cuda"
  #define FlavourName "CUDA"
#else
  #define FlavourSuffix ""
  #define FlavourName "CPU + DirectML"
#endif
#if !FileExists(AddBackslash(DistDir) + "arcx.exe")
  #error No arcx.exe in DistDir: run PyInstaller first (installer\build.ps1)
#endif

#define MyAppName "ArcX"
#define MyAppPublisher "ArcX"
#define MyAppExeName "arcx.exe"
; Where platformdirs puts ArcX's per-user data, config and logs on Windows
; (app/core/paths.py: appname "ArcX", appauthor "ArcX" → %LOCALAPPDATA%\ArcX\ArcX).
#define UserDataRoot "{localappdata}\ArcX"

[Setup]
; Fixed forever: upgrades, both flavours and the uninstaller find the install by it.
AppId={{C0F241C1-0E08-4BD4-8BF9-F3C50CB6D0AA}
AppName={#MyAppName}
AppVersion={#MyAppVersion}
AppVerName={#MyAppName} {#MyAppVersion} ({#FlavourName})
AppPublisher={#MyAppPublisher}
VersionInfoVersion={#MyAppNumericVersion}
VersionInfoProductName={#MyAppName}
VersionInfoDescription={#MyAppName} {#FlavourName} setup
; Per user, no admin, by default; "install for all users" is offered on the first page.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
; {autopf}: %LOCALAPPDATA%\Programs per user, Program Files for all users.
DefaultDirName={autopf}\{#MyAppName}
DisableProgramGroupPage=yes
; torch and Qt are 64-bit only.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=ArcX-{#MyAppVersion}-win64{#FlavourSuffix}-setup
SetupIconFile={#SourcePath}..\resources\icons\arcx.ico
UninstallDisplayIcon={app}\{#MyAppExeName}
UninstallDisplayName={#MyAppName}
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
LZMAUseSeparateProcess=yes
#ifdef SpanDisks
DiskSpanning=yes
DiskSliceSize=max
#endif
; Close a running ArcX (Restart Manager) before files are replaced on an upgrade.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "startup"; Description: "Start ArcX when I sign in to Windows"; GroupDescription: "Start-up:"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: no stale DLL of an older torch or Qt may stay.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
#ifdef VCRedistPath
; Extracted by the [Code] below only when the runtime is missing or too old.
Source: "{#VCRedistPath}"; DestName: "vc_redist.x64.exe"; Flags: dontcopy
#endif

[Icons]
Name: "{autoprograms}\{#MyAppName}"; Filename: "{app}\{#MyAppExeName}"; WorkingDir: "{app}"
Name: "{autodesktop}\{#MyAppName}"; Filename: "{app}\{#MyAppExeName}"; WorkingDir: "{app}"; Tasks: desktopicon

[Registry]
; "Start with Windows": HKCU for a per-user install, HKLM for an all-users one (HKA).
Root: HKA; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "{#MyAppName}"; ValueData: """{app}\{#MyAppExeName}"""; Flags: uninsdeletevalue; Tasks: startup

[Run]
Filename: "{app}\{#MyAppExeName}"; Description: "{cm:LaunchProgram,{#MyAppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Anything written into the program folder at run time (nothing the player owns lives here).
Type: filesandordirs; Name: "{app}\_internal"

[Code]
const
  // The VC++ 2015-2022 runtime registers itself here (64-bit registry view).
  VCRuntimeKey = 'SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64';
  // torch's and Qt's DLLs are built with VS 2022 17.10+ (runtime 14.40); an older
  // msvcp140.dll loaded first crashes them. PyInstaller also ships app-local copies,
  // so this is belt and braces for DLLs loaded from System32.
  VCRuntimeMinMajor = 14;
  VCRuntimeMinMinor = 40;

function VCRuntimeNeeded(): Boolean;
var
  Installed, Major, Minor: Cardinal;
begin
  Result := True;
  if RegQueryDWordValue(HKLM64, VCRuntimeKey, 'Installed', Installed) and (Installed = 1)
    and RegQueryDWordValue(HKLM64, VCRuntimeKey, 'Major', Major)
    and RegQueryDWordValue(HKLM64, VCRuntimeKey, 'Minor', Minor) then
    Result := (Major < VCRuntimeMinMajor) or ((Major = VCRuntimeMinMajor) and (Minor < VCRuntimeMinMinor));
  Log(Format('VC++ runtime %d.%d installed=%d; install the bundled one: %d',
    [Major, Minor, Installed, Ord(Result)]));
end;

#ifdef VCRedistPath
procedure InstallVCRuntime();
var
  Path: String;
  ResultCode: Integer;
  Started: Boolean;
begin
  if not VCRuntimeNeeded() then
    Exit;
  if WizardSilent() and not IsAdminInstallMode() then
  begin
    // A silent per-user install cannot answer a UAC prompt.
    Log('VC++ runtime missing or old; silent per-user install, skipped');
    Exit;
  end;
  WizardForm.StatusLabel.Caption := 'Installing the Microsoft Visual C++ runtime...';
  ExtractTemporaryFile('vc_redist.x64.exe');
  Path := ExpandConstant('{tmp}\vc_redist.x64.exe');
  if IsAdminInstallMode() then
    Started := Exec(Path, '/install /quiet /norestart', '', SW_SHOW, ewWaitUntilTerminated, ResultCode)
  else
    // The runtime installs machine-wide: ask Windows for elevation just for it.
    Started := ShellExec('runas', Path, '/install /passive /norestart', '', SW_SHOW, ewWaitUntilTerminated, ResultCode);
  if Started then
    Log(Format('vc_redist.x64.exe finished (exit code %d; 0 ok, 1638 newer present, 3010 reboot)', [ResultCode]))
  else
    Log(Format('vc_redist.x64.exe did not run: %s', [SysErrorMessage(ResultCode)]));
end;
#endif

procedure CurStepChanged(CurStep: TSetupStep);
begin
#ifdef VCRedistPath
  if CurStep = ssPostInstall then
    InstallVCRuntime();
#endif
end;

// Uninstall: the program goes; the player's data stays unless they ask.
// Silent uninstalls keep it too, unless run with /REMOVEDATA=1.
function RemoveDataRequested(const DataDir: String): Boolean;
begin
  if ExpandConstant('{param:REMOVEDATA|0}') = '1' then
  begin
    Result := True;
    Exit;
  end;
  Result := SuppressibleMsgBox(
    'Remove my data too?' + #13#10#13#10 +
    'Your recorded runs, trained models, settings and logs are in' + #13#10 +
    DataDir + #13#10#13#10 +
    'Choose Yes to delete them. Choose No (the default) to keep them for a later install.',
    mbConfirmation, MB_YESNO or MB_DEFBUTTON2, IDNO) = IDYES;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir: String;
begin
  if CurUninstallStep <> usPostUninstall then
    Exit;
  DataDir := ExpandConstant('{#UserDataRoot}');
  if not DirExists(DataDir) then
    Exit;
  if RemoveDataRequested(DataDir) then
  begin
    if DelTree(DataDir, True, True, True) then
      Log('Removed the player data in ' + DataDir)
    else
      SuppressibleMsgBox('Some files in ' + DataDir + ' could not be removed; delete the folder by hand.',
        mbError, MB_OK, IDOK);
  end
  else
    Log('Kept the player data in ' + DataDir);
end;
