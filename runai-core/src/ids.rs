//! Identifier newtypes. The wire carries them as strings; the types keep a project ID from
//! being passed where a cluster ID belongs.

string_id!(
    /// A project's ID. Run:ai sends it as a string of digits, for example `"1"`.
    ///
    /// ```
    /// use runai_core::ProjectId;
    /// assert_eq!(ProjectId::new("1").as_str(), "1");
    /// ```
    ProjectId
);

string_id!(
    /// A department's ID, for example `"2"`.
    ///
    /// ```
    /// use runai_core::DepartmentId;
    /// assert_eq!(DepartmentId::from("2").to_string(), "2");
    /// ```
    DepartmentId
);

string_id!(
    /// A cluster's UUID.
    ///
    /// ```
    /// use runai_core::ClusterId;
    /// let id = ClusterId::new("71f69d83-ba66-4822-adf5-55ce55efd210");
    /// assert_eq!(id.as_str().len(), 36);
    /// ```
    ClusterId
);

string_id!(
    /// A workload's UUID, assigned by the control plane.
    ///
    /// ```
    /// use runai_core::WorkloadId;
    /// let id: WorkloadId = "a3c2bd2c-7c6b-4a0e-9d5e-1c2f7b8e9a10".into();
    /// assert!(id.as_str().starts_with("a3c2"));
    /// ```
    WorkloadId
);
